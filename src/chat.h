/* chat.h -- prompts through the model's chat template (tdiff_tokenizer_apply_chat),
 * for `generate --chat` and the interactive `textdiff chat`. */
#ifndef TEXTDIFF_CHAT_H
#define TEXTDIFF_CHAT_H

#include <stddef.h>
#include <stdint.h>

#include "libtextdiff.h"

/* The prompt ids of messages[0..n) as llama.cpp builds them (the template's text,
 * tokenized with BOS/EOS as the model says and special tokens parsed); the count,
 * or -1 after printing why (an unsupported template, too long). */
long chat_ids(const tdiff_tokenizer *tok, const tdiff_chat_message *messages, size_t n, int32_t *ids, size_t cap);
/* [system,] user -> ids, as chat_ids. system may be NULL. */
long chat_prompt_ids(const tdiff_tokenizer *tok, const char *system, const char *user, int32_t *ids, size_t cap);

#endif
