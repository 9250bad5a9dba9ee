/*
 * fuzz_plan.c -- libFuzzer target over planned diffusion's control-tag parser
 * (lib/sampler/plan.c): every plan a model writes is untrusted. Layout: byte 0
 * max_spans (1 + b % 20), bytes 1-2 max_len (1 + u16 % 200), byte 3 default_len
 * (1 + b % 250: may exceed max_len), byte 4 the scale ((1 + b) / 32), then one
 * token per byte: b % 32 < 10 a digit, 10 <promise>, 11 </promise>, 12 <async>,
 * 13 </async>, 14 <sync/>, anything else text (b itself + 100). Properties:
 *  - never more spans than max_spans or than <promise> tokens; exactly as many
 *    as <promise> tokens when no entry was dropped (no ZERO, no TOO_MANY flag);
 *  - every length in [1, max_len]; only the documented flag bits;
 *  - deterministic (a second parse gives the same plan), reads only its input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "sampler/sampler.h"

#define MAX_TOKENS 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5)
        return 0;
    tdiff__plan_limits lim = {.max_spans = 1 + data[0] % 20u,
                              .max_len = 1 + (size_t)((data[1] | (unsigned)data[2] << 8) % 200u),
                              .default_len = 1 + data[3] % 250u,
                              .scale = (1.0 + data[4]) / 32.0};
    tdiff__plan_tags tags = {.promise_open = 10, .promise_close = 11, .async_open = 12, .async_close = 13,
                             .sync = 14};
    for (int d = 0; d < 10; d++)
        tags.digit[d] = d;
    size_t n = size - 5 < MAX_TOKENS ? size - 5 : MAX_TOKENS, opens = 0;
    int32_t *tok = malloc((n ? n : 1) * sizeof *tok); /* exactly n: ASan sees any read past it */
    FUZZ_CHECK(tok);
    for (size_t i = 0; i < n; i++) {
        uint8_t b = data[5 + i];
        tok[i] = b % 32u < 15 ? (int32_t)(b % 32u) : (int32_t)b + 100;
        opens += tok[i] == tags.promise_open;
    }
    static tdiff__plan p, q;
    tdiff__plan_parse(&tags, &lim, tok, n, &p);
    FUZZ_CHECK(p.n <= lim.max_spans && p.n <= opens);
    if (!(p.flags & (TDIFF__PLAN_ZERO | TDIFF__PLAN_TOO_MANY)))
        FUZZ_CHECK(p.n == opens);
    FUZZ_CHECK((p.flags & ~63u) == 0);
    for (size_t k = 0; k < p.n; k++)
        FUZZ_CHECK(p.len[k] >= 1 && p.len[k] <= lim.max_len);
    tdiff__plan_parse(&tags, &lim, tok, n, &q);
    FUZZ_CHECK(q.n == p.n && q.flags == p.flags && !memcmp(q.len, p.len, p.n * sizeof *p.len));
    free(tok);
    return 0;
}
