#!/usr/bin/env python3
"""An example command reward plug-in (docs/reward-plugins.md): scores a C or
C++ answer to a programming prompt.

    +5   the response (after its last </think>, if any) holds a fenced C or
         C++ code block (```cpp, ```c++, ```cc, ```cxx, ```c or untagged,
         closed with ```); the last one is the answer
    +10  that code compiles with g++ (found on PATH; -O0; C++17, or C11 for a
         ```c block)
    +20  the program passes every test of metadata "tests": a JSON list of
         {"input": STR, "output": STR}, stdin given, stdout compared with
         trailing whitespace removed (at the end of each line and of the
         whole output)

"correct" is true when every test passes; "details" says what failed. A
prompt without "tests" is reported as an error (the sample gets the entry's
fallback). Configure it as

    reward:
      timeout_s: 30   # per response: the compile and every test run
      functions:
        - {cmd: [python3, /path/to/crescent/reward/examples/format_compile_test.py]}

NOT A SANDBOX. The compiler and the model's program run as the user the
reward service runs as, with that user's files and network; the only limits
are rlimits (CPU seconds, address space, file size) and wall-clock timeouts,
and a program can still fork, write files it may write or talk to the
network. For trusted experiments only; the code sandbox is separate work.

Standard library only. Reads one JSON request per line on stdin and writes
one JSON reply per line on stdout (the protocol: docs/reward-plugins.md);
diagnostics go to stderr.
"""
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile

COMPILE_TIMEOUT_S = 20  # wall clock
COMPILE_CPU_S = 20
COMPILE_MEMORY = 2 << 30  # address space
RUN_TIMEOUT_S = 2  # wall clock, per test
RUN_CPU_S = 2
RUN_MEMORY = 512 << 20
FILE_SIZE = 64 << 20  # the largest file a compiler or program may write

FENCE = re.compile(r"```([A-Za-z0-9+#_-]*)[ \t]*\n(.*?)```", re.DOTALL)
CXX_TAGS = {"": "c++", "cpp": "c++", "c++": "c++", "cc": "c++", "cxx": "c++", "c": "c"}


def limits(cpu_s, memory):
    """A preexec_fn: rlimits for the child (and whatever it starts)."""

    def apply():
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s))
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE, FILE_SIZE))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def last_code_block(response):
    """(language, code) of the last C/C++ fenced block, or None."""
    text = response.rsplit("</think>", 1)[-1]
    found = None
    for match in FENCE.finditer(text):
        language = CXX_TAGS.get(match.group(1).lower())
        if language:
            found = (language, match.group(2))
    return found


def normalise(output):
    return "\n".join(line.rstrip() for line in output.rstrip().split("\n"))


def clip(text, limit=500):
    return text if len(text) <= limit else text[:limit] + "..."


def score(response, metadata):
    tests = metadata.get("tests")
    if tests is None:
        raise ValueError('the prompt has no "tests" metadata')
    if isinstance(tests, str):  # a prompt source that kept the list as text
        tests = json.loads(tests)
    if not isinstance(tests, list):
        raise ValueError('"tests" is not a list')

    details = {"format": False, "compiled": False, "tests_passed": 0, "tests": len(tests)}
    block = last_code_block(response)
    if block is None:
        return 0, False, details
    details["format"] = True
    language, code = block
    compiler = shutil.which("g++")
    if compiler is None:
        raise RuntimeError("g++ not found on PATH")

    with tempfile.TemporaryDirectory(prefix="crescent-reward-") as work:
        source = os.path.join(work, "main.c" if language == "c" else "main.cpp")
        program = os.path.join(work, "main")
        with open(source, "w") as f:
            f.write(code)
        standard = "-std=c11" if language == "c" else "-std=c++17"
        try:
            compiled = subprocess.run(
                [compiler, "-x", language, standard, "-O0", "-o", program, source],
                cwd=work, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                errors="replace", timeout=COMPILE_TIMEOUT_S,
                preexec_fn=limits(COMPILE_CPU_S, COMPILE_MEMORY))
        except subprocess.TimeoutExpired:
            details["compiler_error"] = f"timed out after {COMPILE_TIMEOUT_S} s"
            return 5, False, details
        if compiled.returncode != 0:
            details["compiler_error"] = clip(compiled.stderr)
            return 5, False, details
        details["compiled"] = True

        for index, test in enumerate(tests):
            failure = {"failed_test": index}
            try:
                run = subprocess.run(
                    [program], cwd=work, input=test.get("input", ""), capture_output=True,
                    text=True, errors="replace", timeout=RUN_TIMEOUT_S,
                    preexec_fn=limits(RUN_CPU_S, RUN_MEMORY))
            except subprocess.TimeoutExpired:
                failure["reason"] = f"timed out after {RUN_TIMEOUT_S} s"
                details.update(failure)
                return 15, False, details
            if run.returncode != 0:
                failure["reason"] = (f"exit status {run.returncode}" if run.returncode > 0 else
                                     f"killed by signal {-run.returncode}")
                failure["stderr"] = clip(run.stderr)
            elif normalise(run.stdout) != normalise(test.get("output", "")):
                failure["reason"] = "wrong output"
                failure["expected"] = clip(test.get("output", ""))
                failure["got"] = clip(run.stdout)
            else:
                details["tests_passed"] += 1
                continue
            details.update(failure)
            return 15, False, details
    return 35, True, details


def main():
    for line in sys.stdin:
        request = json.loads(line)
        try:
            reward, correct, details = score(request["response"], request["metadata"])
            reply = {"id": request["id"], "reward": reward, "correct": correct,
                     "details": details}
        except Exception as e:  # this sample fails; the plug-in goes on
            reply = {"id": request["id"], "error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
