/* infill.h -- the hole syntax of `textdiff infill`: a text such as
 * "The [MASK:5] sat on the [MASK:2]." is a sequence of pieces, text or holes.
 * A hole is exactly "[MASK:" n "]" with n written in 1..9 decimal digits and
 * n >= 1; any other "[MASK:" is an error (never silently kept as text). */
#ifndef TEXTDIFF_INFILL_H
#define TEXTDIFF_INFILL_H

#include <stddef.h>
#include <stdint.h>

#include "libtextdiff.h"

typedef struct tool_infill_piece {
    size_t off, len; /* the piece's bytes: text[off..off+len) */
    size_t n_mask;   /* 0: text; else a hole of n_mask tokens */
} tool_infill_piece;

/* Reads the piece of text[0..len) that starts at *pos and moves *pos past it.
 * Returns 1 with *p set, 0 at the end of the text, -1 for a malformed hole
 * (err gets the reason and the byte offset). Text pieces are never empty and
 * never contain "[MASK:"; pieces tile the text in order. */
int tool_infill_next(const char *text, size_t len, size_t *pos, tool_infill_piece *p, char *err, size_t err_cap);

/* The canvas for text[0..len): each text piece tokenized (the first with the
 * model's special tokens, TDIFF_TOKENIZE_ADD_SPECIAL, even when the text starts
 * with a hole), each hole as n_mask copies of mask. Writes ids[0..cap) and
 * returns the count, or -1 with a reason in err (malformed hole, more than cap
 * tokens, a tokenizer error). An empty text gives 0 ids. */
long tool_infill_ids(const tdiff_tokenizer *tok, const char *text, size_t len, int32_t mask, int32_t *ids,
                     size_t cap, char *err, size_t err_cap);

#endif
