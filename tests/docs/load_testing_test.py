#!/usr/bin/python3
"""docs/load-testing.md runs as written: every ```sh block, in order, in an empty folder with
gatehouse and gatehouse-bench on PATH. A block of one line ending in `&` runs in the background
(the proxy) and the next block waits until its port accepts; any other block runs as one bash
script that must exit 0. Only the ports are rewritten, and only in what is run: 8443 becomes a
free port, and the admin listener of the config `gatehouse init` wrote gets one too. ```console
blocks (kubectl, needing a cluster) are not run; tests/deploy/check_deploy.py checks the Job.
Usage: load_testing_test.py GATEHOUSE GATEHOUSE_BENCH SOURCE_DIR"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

gatehouse, bench, source = sys.argv[1], sys.argv[2], Path(sys.argv[3])
failures = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sh_blocks(path):
    found, lang, body = [], None, []
    for line in path.read_text().splitlines():
        fence = re.match(r"^```(\w*)\s*$", line)
        if fence and lang is None:
            lang, body = fence.group(1), []
        elif line.startswith("```") and lang is not None:
            if lang == "sh":
                found.append("\n".join(body) + "\n")
            lang = None
        elif lang is not None:
            body.append(line)
    return found


def wait_for_port(port, seconds=30):
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


port = free_port()
background = []
with tempfile.TemporaryDirectory() as work:
    work = Path(work)
    env = dict(os.environ, PATH=os.pathsep.join({str(Path(gatehouse).parent), str(Path(bench).parent)}) +
               os.pathsep + os.environ["PATH"])
    last_output = ""
    try:
        for text in sh_blocks(source / "docs" / "load-testing.md"):
            text = text.replace("8443", str(port))
            config = work / "lab" / "gatehouse.toml"
            if config.exists():  # the admin listener too, off its fixed port
                config.write_text(config.read_text().replace("127.0.0.1:9901", "127.0.0.1:%d" % free_port()))
            lines = [l for l in text.splitlines() if l.strip()]
            if len(lines) == 1 and lines[0].rstrip().endswith("&"):
                background.append(subprocess.Popen(["bash", "-c", lines[0].rstrip()[:-1]], cwd=work, env=env,
                                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                if not wait_for_port(port):
                    failures.append("`%s` never listened on %d" % (lines[0], port))
                    break
                continue
            done = subprocess.run(["bash", "-e", "-c", text], cwd=work, env=env, capture_output=True, text=True,
                                  timeout=120)
            print("$ " + text + done.stdout + done.stderr, flush=True)
            last_output = done.stdout
            if done.returncode != 0:
                failures.append("block exited %d:\n%s%s%s" % (done.returncode, text, done.stdout, done.stderr))
                break
        if not failures and "4 shards" not in last_output:
            failures.append("the last block's merged report does not say 4 shards:\n" + last_output)
    finally:
        for p in background:  # only what this test started
            p.terminate()
            p.wait(timeout=10)

for f in failures:
    print("FAILED:", f)
print("docs/load-testing.md: %d problem(s)" % len(failures))
sys.exit(1 if failures else 0)
