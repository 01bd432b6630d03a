#!/usr/bin/env python3
"""A command reward plug-in for tests/reward/command_reward_test.cpp.

The response text picks what it does with a request, so that one process can
be driven through a failure and then shown to serve again (or to have been
restarted: every reply carries its pid and how many requests it has read).
Started with --exit-at-start it exits before reading anything.
"""
import json
import os
import signal
import subprocess
import sys
import time

if "--exit-at-start" in sys.argv:
    sys.exit(2)

calls = 0


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    calls += 1
    request = json.loads(line)
    rid = request["id"]
    response = request["response"]
    metadata = request["metadata"]
    details = {
        "pid": os.getpid(),
        "calls": calls,
        "prompt": request["prompt"],
        "metadata": metadata,
        "types": {key: type(value).__name__ for key, value in metadata.items()},
    }
    good = {"id": rid, "reward": len(response), "correct": response == metadata.get("answer"),
            "details": details}
    if response == "exit":
        sys.exit(3)
    elif response == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif response == "hang":
        time.sleep(3600)
    elif response.startswith("hang-with-child:"):
        # A grandchild in the plug-in's process group: a timeout must end it too.
        child = subprocess.Popen(["sleep", "3600"])
        with open(response.split(":", 1)[1], "w") as f:
            f.write(str(child.pid))
        time.sleep(3600)
    elif response == "close-stdout":
        os.close(1)
        time.sleep(3600)
    elif response == "garbage":
        sys.stdout.write("this is not JSON\n")
        sys.stdout.flush()
    elif response == "not-object":
        reply([rid, 1])
    elif response == "wrong-id":
        good["id"] = rid + 1
        reply(good)
    elif response == "no-id":
        del good["id"]
        reply(good)
    elif response == "nan":
        good["reward"] = float("nan")
        reply(good)
    elif response == "inf":
        good["reward"] = float("-inf")
        reply(good)
    elif response == "no-reward":
        del good["reward"]
        reply(good)
    elif response == "string-reward":
        good["reward"] = "1"
        reply(good)
    elif response == "bad-correct":
        good["correct"] = "yes"
        reply(good)
    elif response == "bad-details":
        good["details"] = [1, 2]
        reply(good)
    elif response == "no-correct":
        del good["correct"]
        reply(good)
    elif response == "error":
        reply({"id": rid, "error": "no tests for this prompt"})
    elif response == "huge":
        sys.stdout.write("x" * (17 << 20))
        sys.stdout.flush()
        time.sleep(3600)
    elif response == "exit-after-reply":
        reply(good)
        sys.exit(0)
    else:
        reply(good)
