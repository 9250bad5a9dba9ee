/* cmd_info.c -- `textdiff info [MODEL]`: what a GGUF file holds -- architecture,
 * sizes, hyper-parameters, tokenizer, special tokens; --meta and --tensors list
 * every key and tensor. Uses only the public API. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "libtextdiff.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: textdiff info [MODEL.gguf] [--meta] [--tensors]\n\n"
               "Loads the model (memory-mapped, validated) and prints its architecture, sizes,\n"
               "hyper-parameters, tokenizer and special tokens. MODEL left out: $TEXTDIFF_MODEL or\n"
               "the bundled model.\n"
               "  -m, --model FILE  the model (same as MODEL)\n"
               "  --meta     list every metadata key with its type (and value, for scalars)\n"
               "  --tensors  list every tensor with its type and shape (ggml order, innermost first)\n");
}

static const char *type_name(tdiff_meta_type t)
{
    static const char *const names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32",
                                        "bool", "str", "arr", "u64", "i64", "f64"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

/* Prints a string from the file in quotes, its first `max` bytes escaped
 * (tool_escape). */
static void print_text(const char *s, size_t n, size_t max)
{
    char buf[4 * 256 + 1]; /* max <= 256 bytes, each at most 4 when escaped */
    printf("\"%s\"%s", tool_escape(buf, sizeof buf, s, n < max ? n : max, 1), n > max ? "..." : "");
}

static void print_str_key(const tdiff_model *m, const char *label, const char *key)
{
    char buf[256];
    size_t need = 0;
    tdiff_status st = tdiff_model_meta_get_str(m, key, buf, sizeof buf, &need);
    if (st == TDIFF_OK || st == TDIFF_E_BUFFER_TOO_SMALL) {
        printf("%-18s ", label);
        print_text(buf, st == TDIFF_OK ? need - 1 : sizeof buf - 1, 80);
        putchar('\n');
    }
}

static void print_scalar(const tdiff_model *m, const char *key, tdiff_meta_type t)
{
    uint64_t u;
    int32_t i;
    float f;
    int b;
    char buf[128];
    size_t need;
    tdiff_status st;
    switch (t) {
    case TDIFF_META_F32: case TDIFF_META_F64:
        if (tdiff_model_meta_get_f32(m, key, &f) == TDIFF_OK)
            printf(" = %g", f);
        break;
    case TDIFF_META_BOOL:
        if (tdiff_model_meta_get_bool(m, key, &b) == TDIFF_OK)
            printf(" = %s", b ? "true" : "false");
        break;
    case TDIFF_META_STRING:
        st = tdiff_model_meta_get_str(m, key, buf, sizeof buf, &need);
        if (st == TDIFF_OK || st == TDIFF_E_BUFFER_TOO_SMALL) {
            printf(" = ");
            print_text(buf, st == TDIFF_OK ? need - 1 : sizeof buf - 1, 60);
        }
        break;
    default:
        if (tdiff_model_meta_get_u64(m, key, &u) == TDIFF_OK)
            printf(" = %" PRIu64, u);
        else if (tdiff_model_meta_get_i32(m, key, &i) == TDIFF_OK)
            printf(" = %" PRId32, i);
        break;
    }
}

static void list_meta(const tdiff_model *m)
{
    size_t n = tdiff_model_meta_count(m);
    printf("\nmetadata (%zu keys):\n", n);
    for (size_t k = 0; k < n; k++) {
        char key[256], shown[4 * sizeof key];
        size_t len = 0;
        if (tdiff_model_meta_key(m, k, key, sizeof key, &len) != TDIFF_OK) {
            printf("  (key too long)\n");
            continue;
        }
        tdiff_meta_type t, et;
        size_t count;
        tdiff_model_meta_type(m, key, &t, &et, &count);
        tool_escape(shown, sizeof shown, key, len ? len - 1 : 0, 0); /* len counts the NUL */
        if (t == TDIFF_META_ARRAY)
            printf("  %-44s arr[%s,%zu]", shown, type_name(et), count);
        else
            printf("  %-44s %s", shown, type_name(t));
        if (t != TDIFF_META_ARRAY)
            print_scalar(m, key, t);
        putchar('\n');
    }
}

static void list_tensors(const tdiff_model *m)
{
    size_t n = tdiff_model_tensor_count(m);
    printf("\ntensors (%zu):\n", n);
    for (size_t i = 0; i < n; i++) {
        char name[64], shown[4 * sizeof name];
        int type, nd;
        int64_t ne[4];
        if (tdiff_model_tensor_info(m, i, name, sizeof name, NULL, &type, &nd, ne) != TDIFF_OK)
            continue;
        printf("  %-36s %-5s", tool_escape(shown, sizeof shown, name, strlen(name), 0), tool_type_name(type));
        for (int d = 0; d < nd; d++)
            printf(d ? " x %" PRId64 : " %" PRId64, ne[d]);
        putchar('\n');
    }
}

static void print_hparams(const tdiff_model *m)
{
    static const struct {
        tdiff_model_param p;
        const char *name;
    } ints[] = {
        {TDIFF_MODEL_N_CTX, "context length"}, {TDIFF_MODEL_N_EMBD, "hidden size"},
        {TDIFF_MODEL_N_LAYER, "layers"},       {TDIFF_MODEL_N_FF, "feed-forward"},
        {TDIFF_MODEL_N_HEAD, "heads"},          {TDIFF_MODEL_N_HEAD_KV, "kv heads"},
        {TDIFF_MODEL_HEAD_DIM, "head dim"},     {TDIFF_MODEL_ROPE_DIM, "rope dims"},
    };
    int64_t v;
    double d;
    if (tdiff_model_get_int(m, TDIFF_MODEL_N_EMBD, &v) != TDIFF_OK) {
        printf("hyper-parameters   (not defined for this architecture by the loader)\n");
        return;
    }
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (tdiff_model_get_int(m, ints[i].p, &v) == TDIFF_OK)
            printf("%-18s %" PRId64 "\n", ints[i].name, v);
    if (tdiff_model_get_float(m, TDIFF_MODEL_ROPE_BASE, &d) == TDIFF_OK)
        printf("%-18s %g\n", "rope base", d);
    if (tdiff_model_get_int(m, TDIFF_MODEL_ROPE_STYLE, &v) == TDIFF_OK)
        printf("%-18s %s\n", "rope style", v == 1 ? "normal (adjacent pairs)" : v == 2 ? "neox (halves)" : "none");
    if (tdiff_model_get_float(m, TDIFF_MODEL_NORM_EPS, &d) == TDIFF_OK)
        printf("%-18s %g\n", "rms norm eps", d);
    if (tdiff_model_get_int(m, TDIFF_MODEL_SHIFT_LOGITS, &v) == TDIFF_OK)
        printf("%-18s %s\n", "shift logits", v ? "yes (position i predicts i+1)" : "no");
    if (tdiff_model_get_int(m, TDIFF_MODEL_CAUSAL, &v) == TDIFF_OK) {
        int32_t mask;
        bool ar = v && tdiff_model_special_id(m, TDIFF_SPECIAL_MASK, &mask) != TDIFF_OK;
        printf("%-18s %s\n", "attention", ar ? "causal (autoregressive: generate with --strategy ar)"
                                          : v ? "causal" : "bidirectional");
    }
    if (tdiff_model_get_int(m, TDIFF_MODEL_HAS_QKV_BIAS, &v) == TDIFF_OK)
        printf("%-18s %s\n", "q/k/v bias", v ? "yes" : "no");
    if (tdiff_model_get_int(m, TDIFF_MODEL_TIED_OUTPUT, &v) == TDIFF_OK)
        printf("%-18s %s\n", "output head", v ? "tied to token_embd" : "separate output.weight");
}

static void print_special(const tdiff_model *m)
{
    static const struct {
        tdiff_special_token w;
        const char *name;
    } sp[] = {{TDIFF_SPECIAL_BOS, "bos"}, {TDIFF_SPECIAL_EOS, "eos"}, {TDIFF_SPECIAL_MASK, "mask"},
              {TDIFF_SPECIAL_PAD, "pad"}, {TDIFF_SPECIAL_UNK, "unk"}, {TDIFF_SPECIAL_SEP, "sep"},
              {TDIFF_SPECIAL_CLS, "cls"}};
    for (size_t i = 0; i < sizeof sp / sizeof sp[0]; i++) {
        int32_t id;
        if (tdiff_model_special_id(m, sp[i].w, &id) != TDIFF_OK)
            continue;
        char text[128];
        size_t need = 0;
        printf("special %-10s %" PRId32 " ", sp[i].name, id);
        tdiff_status st = tdiff_model_meta_get_arr_str(m, "tokenizer.ggml.tokens", (size_t)id, text, sizeof text, &need);
        if (st == TDIFF_OK || st == TDIFF_E_BUFFER_TOO_SMALL)
            print_text(text, st == TDIFF_OK ? need - 1 : sizeof text - 1, 40);
        putchar('\n');
    }
}

int cmd_info(int argc, char **argv)
{
    const char *path = NULL;
    int meta = 0, tensors = 0;
    for (int i = 1; i < argc; i++) {
        if (tool_is_help(argv[i])) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--meta")) {
            meta = 1;
        } else if (!strcmp(argv[i], "--tensors")) {
            tensors = 1;
        } else if ((!strcmp(argv[i], "-m") || !strcmp(argv[i], "--model")) && i + 1 < argc && !path) {
            path = argv[++i];
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "textdiff: info: unknown option '%s' (or it needs a value)\n", argv[i]);
            return 2;
        } else if (path) {
            fprintf(stderr, "textdiff: info: one model at a time ('%s' is a second)\n", argv[i]);
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (!path)
        path = tool_default_model();
    tdiff_model *m = NULL;
    char err[512];
    tdiff_status st = tdiff_model_load_file(path, NULL, &m, err, sizeof err);
    if (st != TDIFF_OK) {
        fprintf(stderr, "textdiff: %s: %s (%s)\n", path, err, tdiff_status_string(st));
        return 1;
    }
    int64_t size = 0, version = 0, nt = 0, nm = 0, align = 0;
    uint64_t params = 0;
    size_t vocab = 0;
    tdiff_model_get_int(m, TDIFF_MODEL_FILE_SIZE, &size);
    tdiff_model_get_int(m, TDIFF_MODEL_GGUF_VERSION, &version);
    tdiff_model_get_int(m, TDIFF_MODEL_N_TENSORS, &nt);
    tdiff_model_get_int(m, TDIFF_MODEL_N_META, &nm);
    tdiff_model_get_int(m, TDIFF_MODEL_ALIGNMENT, &align);
    tdiff_model_weight_count(m, &params);
    tdiff_model_vocab_size(m, &vocab);
    const char *arch = tdiff_model_architecture(m);
    char shown[4 * 256];
    printf("file               %s\n", path);
    printf("architecture       %s\n", arch[0] ? tool_escape(shown, sizeof shown, arch, strlen(arch), 0) : "(none)");
    print_str_key(m, "name", "general.name");
    printf("format             GGUF v%" PRId64 ", %" PRId64 " bytes, alignment %" PRId64 "\n", version, size, align);
    printf("contents           %" PRId64 " tensors, %" PRId64 " metadata keys\n", nt, nm);
    printf("parameters         %" PRIu64 " (%.2f M)\n", params, (double)params / 1e6);
    print_hparams(m);
    print_str_key(m, "tokenizer", "tokenizer.ggml.model");
    print_str_key(m, "pre-tokenizer", "tokenizer.ggml.pre");
    printf("%-18s %zu\n", "vocabulary", vocab);
    print_special(m);
    if (meta)
        list_meta(m);
    if (tensors)
        list_tensors(m);
    tdiff_model_free(m);
    return 0;
}
