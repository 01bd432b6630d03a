#!/usr/bin/env python3
"""Writes a small math word-problem set for the chat-math config.

    scripts/make-chat-math.py --out DIR [--seed N] [--train N] [--heldout N]
                              [--levels 1,2,3,4,5] [--teacher-error P]

writes, in DIR:
  train.jsonl    RL prompts: {"id", "messages": [{"role": "user", "content": ...}],
                 "answer": "12", "domain": "math", "difficulty": level}
  heldout.jsonl  the same for the held-out problems
  sft.jsonl      {"messages": [user, assistant]} for the training problems: a
                 one-line worked solution ending in "The answer is \\boxed{12}."
                 (the math reward reads the last \\boxed{...}: reward/reward_function.hpp)

Problems are one or two operations on small integers, in five levels like the
built-in arithmetic task's (docs/training.md): 1 one-digit addition or
subtraction, 2 a two-digit and a one-digit number, 3 two two-digit numbers,
4 multiplication of one-digit numbers, 5 two operations. Names, objects and
sentence templates vary. Answers are non-negative integers. --levels keeps
only the levels listed. A held-out problem is a template with its numbers:
no training line has the same template and numbers under other names or
objects. The same seed writes the same files.

--teacher-error P makes the SFT data an imperfect teacher's, as the
quickstart's sft.teacher_error does for the built-in task: in a share P of the
worked solutions (chosen at random) the teacher writes the final answer
without the box, "The answer is 12." SFT learns the habit; the math reward
scores only a boxed answer (or a "####" line), so RL against it can correct
the habit, and what SFT learned of the arithmetic shows in held-out accuracy.
Python 3 standard library only.
"""

import argparse
import json
import os
import random

NAMES = [
    ("Tom", "he"), ("Anna", "she"), ("Ben", "he"), ("Lucy", "she"), ("Omar", "he"),
    ("Mia", "she"), ("Sam", "he"), ("Zoe", "she"), ("Leo", "he"), ("Ivy", "she"),
    ("Raj", "he"), ("Nora", "she"), ("Max", "he"), ("Emma", "she"), ("Kai", "he"),
    ("Lily", "she"),
]
OBJECTS = ["apples", "pencils", "marbles", "stickers", "books", "cookies", "coins",
           "shells", "stamps", "cards", "balloons", "toy cars"]
POSSESSIVE = {"he": "his", "she": "her"}
LEVELS = [1, 2, 3, 4, 5]


def operands(rng, level):
    """Numbers for a one-operation problem of a level: (op, a, b)."""
    if level == 1:
        if rng.random() < 0.5:
            return "+", rng.randint(1, 9), rng.randint(1, 9)
        a = rng.randint(2, 9)
        return "-", a, rng.randint(1, a - 1)
    if level == 2:
        a = rng.randint(10, 99)
        if rng.random() < 0.5:
            return "+", a, rng.randint(1, 9)
        return "-", a, rng.randint(1, 9)
    if level == 3:
        a = rng.randint(10, 99)
        if rng.random() < 0.5:
            return "+", a, rng.randint(10, 99)
        b = rng.randint(10, a) if a > 10 else 10
        return ("-", a, b) if b < a else ("+", a, rng.randint(10, 99))
    return "*", rng.randint(2, 9), rng.randint(2, 9)


def apply(op, a, b):
    return a + b if op == "+" else a - b if op == "-" else a * b


def one_step(rng, level):
    """A one-operation problem: (signature, question, worked solution, answer)."""
    op, a, b = operands(rng, level)
    (name, pronoun), (friend, _) = rng.sample(NAMES, 2)
    thing = rng.choice(OBJECTS)
    answer = apply(op, a, b)
    variant = rng.randint(0, 1)
    if op == "+":
        questions = [
            f"{name} has {a} {thing} and buys {b} more. How many {thing} does {pronoun} have now?",
            f"{name} has {a} {thing}. {friend} gives {name} {b} more. "
            f"How many {thing} does {name} have now?",
        ]
        step = f"{a} + {b} = {answer}"
    elif op == "-":
        questions = [
            f"{name} has {a} {thing} and gives {b} to {friend}. "
            f"How many {thing} does {name} have left?",
            f"{name} had {a} {thing} and lost {b} of them. How many {thing} are left?",
        ]
        step = f"{a} - {b} = {answer}"
    else:
        questions = [
            f"{name} buys {a} bags with {b} {thing} in each bag. "
            f"How many {thing} does {pronoun} buy?",
            f"{name} has {a} boxes. Each box holds {b} {thing}. How many {thing} are there?",
        ]
        step = f"{a} * {b} = {answer}"
    signature = (op, variant, a, b)
    return signature, questions[variant], f"{step}.", answer


def two_steps(rng):
    """A two-operation problem (level 5)."""
    (name, pronoun), (friend, _) = rng.sample(NAMES, 2)
    thing = rng.choice(OBJECTS)
    variant = rng.randint(0, 2)
    if variant == 0:
        a, b = rng.randint(2, 20), rng.randint(1, 9)
        c = rng.randint(1, a + b)
        answer = a + b - c
        question = (f"{name} has {a} {thing}, buys {b} more and then gives {c} to {friend}. "
                    f"How many {thing} does {name} have now?")
        steps = f"{a} + {b} = {a + b}, and {a + b} - {c} = {answer}."
        signature = ("+-", a, b, c)
    elif variant == 1:
        a, b = rng.randint(1, 20), rng.randint(1, 9)
        answer = a + (a + b)
        question = (f"{name} has {a} {thing}. {friend} has {b} more {thing} than {name}. "
                    f"How many {thing} do they have together?")
        steps = f"{friend} has {a} + {b} = {a + b}, and {a} + {a + b} = {answer}."
        signature = ("++", a, b)
    else:
        a, b, c = rng.randint(2, 6), rng.randint(2, 6), rng.randint(1, 9)
        answer = a * b + c
        question = (f"{name} has {a} bags with {b} {thing} in each bag, and {c} more {thing} "
                    f"in {POSSESSIVE[pronoun]} pocket. "
                    f"How many {thing} does {name} have?")
        steps = f"{a} * {b} = {a * b}, and {a * b} + {c} = {answer}."
        signature = ("*+", a, b, c)
    return signature, question, steps, answer


def problem(rng, level):
    if level == 5:
        signature, question, steps, answer = two_steps(rng)
    else:
        signature, question, steps, answer = one_step(rng, level)
    assert answer >= 0
    return {"signature": (level,) + signature, "question": question,
            "solution": f"{steps} The answer is \\boxed{{{answer}}}.", "answer": answer,
            "level": level}


def rl_line(ident, p):
    return {"id": ident, "messages": [{"role": "user", "content": p["question"]}],
            "answer": str(p["answer"]), "domain": "math", "difficulty": p["level"]}


def sft_line(p, unboxed):
    solution = p["solution"]
    if unboxed:
        solution = solution.replace(f"\\boxed{{{p['answer']}}}", str(p["answer"]))
    return {"messages": [{"role": "user", "content": p["question"]},
                         {"role": "assistant", "content": solution}]}


def write_jsonl(path, lines):
    with open(path, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="directory to write the files into")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--train", type=int, default=4000, help="training problems (4000)")
    parser.add_argument("--heldout", type=int, default=200, help="held-out problems (200)")
    parser.add_argument("--levels", default="1,2,3,4,5",
                        help="comma-separated levels to write (default 1,2,3,4,5)")
    parser.add_argument("--teacher-error", type=float, default=0.0,
                        help="share of SFT solutions whose answer is written unboxed (0)")
    args = parser.parse_args()
    if args.train < 1 or args.heldout < 0:
        parser.error("--train must be at least 1 and --heldout at least 0")
    try:
        levels = sorted({int(level) for level in args.levels.split(",")})
    except ValueError:
        parser.error(f"--levels: {args.levels!r} is not a comma-separated list of levels")
    if not levels or not set(levels) <= set(LEVELS):
        parser.error(f"--levels: {args.levels!r}: the levels are {LEVELS}")
    if not 0 <= args.teacher_error <= 1:
        parser.error("--teacher-error must be between 0 and 1")

    rng = random.Random(args.seed)
    # Held-out problems first, levels in turn; then training problems whose
    # template and numbers are not held out, each question text once.
    heldout, held_signatures = [], set()
    for tries in range(200000):
        if len(heldout) >= args.heldout:
            break
        p = problem(rng, levels[tries % len(levels)])
        if p["signature"] not in held_signatures:
            held_signatures.add(p["signature"])
            heldout.append(p)
    train, questions = [], set()
    for tries in range(2000000):
        if len(train) >= args.train:
            break
        p = problem(rng, levels[tries % len(levels)])
        if p["signature"] in held_signatures or p["question"] in questions:
            continue
        questions.add(p["question"])
        train.append(p)
    if len(heldout) < args.heldout or len(train) < args.train:
        raise SystemExit("make-chat-math: too few distinct problems for these sizes")

    os.makedirs(args.out, exist_ok=True)
    write_jsonl(os.path.join(args.out, "train.jsonl"),
                [rl_line(f"train-{i:05d}", p) for i, p in enumerate(train, 1)])
    write_jsonl(os.path.join(args.out, "heldout.jsonl"),
                [rl_line(f"heldout-{i:04d}", p) for i, p in enumerate(heldout, 1)])
    # Drawn after the problems, so that the problems do not depend on it.
    unboxed = [rng.random() < args.teacher_error for _ in train]
    write_jsonl(os.path.join(args.out, "sft.jsonl"),
                [sft_line(p, u) for p, u in zip(train, unboxed)])
    print(f"make-chat-math: {len(train)} training and {len(heldout)} held-out problems "
          f"in {args.out}")


if __name__ == "__main__":
    main()
