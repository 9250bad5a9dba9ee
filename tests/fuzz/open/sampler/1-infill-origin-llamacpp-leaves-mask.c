/* Reproducer: infill with strategy LLADA + remasking ORIGIN + compat LLAMACPP
 * returns TDIFF_OK with a mask token left in the canvas. */
#include <stdio.h>
#include <string.h>
#include "libtextdiff.h"

#define V 16
#define MASK 9
static int logits(void *ud, const int32_t *tokens, size_t n, float t, const uint32_t *pos, size_t np, float *out)
{
    (void)ud, (void)tokens, (void)n, (void)t, (void)pos;
    for (size_t k = 0; k < np; k++)
        for (int v = 0; v < V; v++)
            out[k * V + v] = (float)((v * 7 + (int)k) % 5);
    return 0;
}

int main(void)
{
    tdiff_denoise_callbacks cb = {sizeof cb, NULL, logits, NULL};
    tdiff_sampler *s = NULL;
    char err[256];
    if (tdiff_sampler_create_with_callback(&cb, V, MASK, 6, NULL, &s, err, sizeof err)) return printf("%s\n", err), 1;
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, TDIFF_STRATEGY_LLADA);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_REMASKING, TDIFF_REMASK_ORIGIN);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_COMPAT, TDIFF_COMPAT_LLAMACPP);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 24);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_BLOCK_LENGTH, 16);
    int32_t canvas[6] = {MASK, MASK, MASK, MASK, MASK, MASK}, out[6];
    size_t n = 0;
    tdiff_status st = tdiff_sampler_infill(s, canvas, 6, out, 6, &n);
    printf("status %s:", tdiff_status_string(st));
    int left = 0;
    for (size_t i = 0; i < n; i++)
        printf(" %d", out[i]), left += out[i] == MASK;
    printf("\n%d mask(s) left\n", left);
    tdiff_sampler_free(s);
    return left != 0;
}
