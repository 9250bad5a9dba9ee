/* readfile.c -- files the tool reads: whole texts into memory (prompts, texts to
 * score), and telling a model path from a text on the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

char *tool_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *nb = realloc(buf, cap * 2 + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad || !buf) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0'; /* texts may be used as strings; binary content keeps its length */
    *len = n;
    return buf;
}

int tool_is_model_path(const char *a)
{
    size_t n = strlen(a);
    if (n > 5 && !strcmp(a + n - 5, ".gguf"))
        return 1;
    char magic[4];
    FILE *f = fopen(a, "rb");
    int gguf = f && fread(magic, 1, 4, f) == 4 && !memcmp(magic, "GGUF", 4);
    if (f)
        fclose(f);
    return gguf;
}
