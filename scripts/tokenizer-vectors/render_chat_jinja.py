"""Adds Qwen3 cases to tests/fixtures/tokenizer/chat_vectors.json.

transformers.js (@lenml/tokenizers) cannot parse Qwen3's template (`[::-1]`),
so these are rendered the way Python transformers renders chat templates:
jinja2's ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks.
Run by hand after make_vectors.js:  python3 render_chat_jinja.py
"""
import json
import os

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
FIXTURES = os.path.join(ROOT, "tests/fixtures/tokenizer")

CONVERSATIONS = [
    [{"role": "user", "content": "What is 2+2?"}],
    [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi"}],
    [
        {"role": "system", "content": "Be helpful."},
        {"role": "user", "content": "  Spaces around  "},
        {"role": "assistant", "content": "Sure."},
        {"role": "user", "content": "Again\n"},
    ],
    [
        {"role": "user", "content": "Think first."},
        {"role": "assistant", "content": "<think>\nreasoning here\n</think>\n\nThe answer is 4."},
        {"role": "user", "content": "And 3+3?"},
        {"role": "assistant", "content": "<think>\nsix\n</think>\n\n6"},
    ],
    [
        {"role": "user", "content": "Use the tool."},
        {"role": "assistant", "content": "Calling."},
        {"role": "tool", "content": "{\"result\": 1}"},
        {"role": "tool", "content": "{\"result\": 2}"},
        {"role": "assistant", "content": "<think>\n\nsum\n\n</think>\n\n\nThree."},
    ],
]


def main():
    config = json.load(open(os.path.join(FIXTURES, "qwen3/tokenizer_config.json")))
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = lambda x, **kw: json.dumps(x, ensure_ascii=False, **kw)
    template = env.from_string(config["chat_template"])
    path = os.path.join(FIXTURES, "chat_vectors.json")
    cases = [c for c in json.load(open(path)) if c["tokenizer"] != "qwen3"]
    for messages in CONVERSATIONS:
        for add_generation_prompt in (False, True):
            for enable_thinking in (True, False):
                text = template.render(messages=messages, add_generation_prompt=add_generation_prompt,
                                       enable_thinking=enable_thinking, bos_token=config.get("bos_token"),
                                       eos_token=config.get("eos_token"))
                cases.append({"tokenizer": "qwen3", "messages": messages,
                              "add_generation_prompt": add_generation_prompt,
                              "enable_thinking": enable_thinking, "text": text, "renderer": "jinja2"})
    with open(path, "w") as f:
        json.dump(cases, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
