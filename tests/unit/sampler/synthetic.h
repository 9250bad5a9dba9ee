/* synthetic.h -- the deterministic test denoiser shared with reference.py. */
#ifndef TDIFF_TEST_SYNTHETIC_H
#define TDIFF_TEST_SYNTHETIC_H

#include <stddef.h>
#include <stdint.h>

#define SYN_V 48
#define SYN_MASK 47
#define SYN_EOS 46

/* logits[k][v] = A[pos % 64][v] + B[tokens[pos - 1 mod n]][v] (float32), with
 * A = 8(u - 0.5), B = 4(u - 0.5) from Philox (seed 0x5EED, steps 1 and 2):
 * exactly reference.py's net(). user_data may point at a long call counter. */
int syn_logits(void *user_data, const int32_t *tokens, size_t n, float t, const uint32_t *positions,
               size_t n_positions, float *logits);

#endif
