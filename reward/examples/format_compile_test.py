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
      timeout_s: 60   # per response: the compile and every test run
      functions:
        - {cmd: [python3, /path/to/crescent/reward/examples/format_compile_test.py]}

The compiler and the program run in crescent's code sandbox (docs/sandbox.md),
through `crescent sandbox run`: no network, a read-only system, an
unprivileged user, limits on CPU time, wall time, memory, files, output and
processes. The crescent program is --crescent PATH, else $CRESCENT_BINARY,
else `crescent` on PATH, else build/cli/crescent beside this script's
repository.

Standard library only. Reads one JSON request per line on stdin and writes
one JSON reply per line on stdout (the protocol: docs/reward-plugins.md);
diagnostics go to stderr.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

# Limits of the compile (gcc's helpers count as processes) and of each test.
COMPILE = ["--cpu-s", "20", "--wall-s", "30", "--memory-mb", "2048", "--file-mb", "64",
           "--tmp-mb", "256", "--processes", "32"]
RUN = ["--cpu-s", "2", "--wall-s", "4", "--memory-mb", "512", "--file-mb", "64"]

FENCE = re.compile(r"```([A-Za-z0-9+#_-]*)[ \t]*\n(.*?)```", re.DOTALL)
CXX_TAGS = {"": "c++", "cpp": "c++", "c++": "c++", "cc": "c++", "cxx": "c++", "c": "c"}


def find_crescent(argv):
    if "--crescent" in argv:
        return argv[argv.index("--crescent") + 1]
    found = os.environ.get("CRESCENT_BINARY") or shutil.which("crescent")
    if found:
        return found
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, "..", "..", "build", "cli", "crescent")


CRESCENT = find_crescent(sys.argv)


def sandboxed(work, limits, argv, stdin="", writable=False):
    """Runs argv in the sandbox with work's files in its /box; its JSON result."""
    command = [CRESCENT, "sandbox", "run", "--dir", work] + limits
    if writable:
        command += ["--writable", "true"]
    done = subprocess.run(command + ["--"] + argv, input=stdin, capture_output=True, text=True,
                          errors="replace")
    if done.returncode != 0:
        raise RuntimeError(f"crescent sandbox run: {clip(done.stderr or done.stdout)}")
    return json.loads(done.stdout)


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
    with tempfile.TemporaryDirectory(prefix="crescent-reward-") as work:
        source = "main.c" if language == "c" else "main.cpp"
        with open(os.path.join(work, source), "w") as f:
            f.write(code)
        standard = "-std=c11" if language == "c" else "-std=c++17"
        compiled = sandboxed(work, COMPILE,
                             ["g++", "-x", language, standard, "-O0", "-o", "main", source],
                             writable=True)
        if not compiled["passed"]:
            details["compiler_error"] = clip(compiled["stderr"] or compiled["describe"])
            return 5, False, details
        details["compiled"] = True

        for index, test in enumerate(tests):
            run = sandboxed(work, RUN, ["./main"], stdin=test.get("input", ""))
            failure = {"failed_test": index}
            if not run["passed"]:
                failure["reason"] = run["describe"]
                failure["stderr"] = clip(run["stderr"])
            elif normalise(run["stdout"]) != normalise(test.get("output", "")):
                failure["reason"] = "wrong output"
                failure["expected"] = clip(test.get("output", ""))
                failure["got"] = clip(run["stdout"])
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
