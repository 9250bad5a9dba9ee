// ref_gpt2.js -- reference side of the byte-level BPE goldens (run by gen_bpe_golden.py).
// stdin: JSON {pkg: path of gpt-3-encoder, texts: [string]}.
// stdout: JSON {ids: [[int]] from gpt-3-encoder's Encoder.js,
//               splits: {name: [[utf8 byte length of each piece]]}} where the splits
// apply llama.cpp's pre-tokenizer patterns with JavaScript's own Unicode regexes,
// the way llama.cpp's unicode_regex_split does: each pattern in turn cuts every
// piece left by the previous one into its matches and the text between them.
const fs = require('fs');
const path = require('path');
const input = JSON.parse(fs.readFileSync(0, 'utf-8'));
const enc = require(path.join(input.pkg, 'Encoder.js'));

const GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const L3 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}" +
           "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const PATTERNS = {
  'gpt-2': [GPT2],
  'default': ["[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2, "\\p{N}+", "[0-9][0-9][0-9]"],
  'llama3': [L3],
  'qwen2': [L3.replace('\\p{N}{1,3}', '\\p{N}')],
};

function split(text, patterns) {
  let pieces = [text];
  for (const p of patterns) {
    const re = new RegExp(p, 'gu');
    const next = [];
    for (const s of pieces) {
      let last = 0;
      for (const m of s.matchAll(re)) {
        if (m.index > last) next.push(s.slice(last, m.index));
        next.push(m[0]);
        last = m.index + m[0].length;
      }
      if (last < s.length) next.push(s.slice(last));
    }
    pieces = next;
  }
  return pieces.map(s => Buffer.byteLength(s, 'utf-8'));
}

const out = {ids: input.texts.map(t => enc.encode(t)), splits: {}};
for (const name of Object.keys(PATTERNS))
  out.splits[name] = input.texts.map(t => split(t, PATTERNS[name]));
process.stdout.write(JSON.stringify(out));
