#!/usr/bin/env python3
"""Docs are code: the guide's commands run as written, and every config in the docs passes `check`.

Usage: docs_test.py GATEHOUSE_BINARY SOURCE_DIR

1. docs/private-ca.md: every ```sh and ```toml block, in order, in an empty folder with
   `gatehouse` on PATH. A ```toml block is saved as gatehouse.toml (the guide says so); each
   command line must exit 0; a line ending in `&` runs in the background (the proxy, the demo
   upstream). Only what cannot be real here is rewritten, and only in what is run: the ports
   (the proxy listens on port 0 and 443, explicit or implied by an https URL, becomes the port its
   ready line reports; 8080 becomes a free port; the admin listener's 127.0.0.1:9901 the one the
   proxy bound). The config `gatehouse init DIR` writes gets the same rewrite of its listen
   addresses as a ```toml block.
   A "## Quick start" section is a path of its own: its background processes are stopped when
   the next section begins, and the long path after it starts afresh (in the same folder).
   In each path Alice's request must reach the upstream, and the access log must say it was
   allowed.
2. Every ```toml block of README.md and docs/*.md is checked with `gatehouse check` in that
   folder, where the guide's commands made the files the blocks name. A block without
   `[[listener]]` continues the complete block before it in the same file (the docs say so).
3. Every reason keyword a handshake can log is named in README.md and metrics/README.md.
"""
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "browser"))
from chromium import Chromium  # noqa: E402  (tests/browser/chromium.py)

FAILURES = []


def fail(message):
    FAILURES.append(message)
    print("FAIL: " + message, flush=True)


def blocks(path):
    """(language, first line number, text) of each fenced block."""
    found, lang, start, body = [], None, 0, []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        fence = re.match(r"^```(\w*)\s*$", line)
        if fence and lang is None:
            lang, start, body = fence.group(1), number + 1, []
        elif line.startswith("```") and lang is not None:
            found.append((lang, start, "\n".join(body) + "\n"))
            lang = None
        elif lang is not None:
            body.append(line)
    return found


def commands(text):
    """Shell command lines of a block: continuations joined, comment-only lines dropped."""
    out, pending = [], ""
    for line in text.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        line = pending + line
        pending = ""
        if line.strip() and not line.strip().startswith("#"):
            out.append(line.strip())
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Guide:
    def __init__(self, gatehouse, work):
        self.work = work
        self.bin = work / "bin"
        self.bin.mkdir()
        (self.bin / "gatehouse").symlink_to(gatehouse)
        self.env = dict(os.environ, PATH=f"{self.bin}:{os.environ['PATH']}")
        self.proxy_port = None  # the proxy binds port 0; its ready line says which port it got
        self.upstream_port = free_port()  # Python's test server cannot say: a free port, chosen here
        self.admin = None
        self.background = []
        self.log_lines = []

    def rewrite(self, line):
        line = line.replace("8080", str(self.upstream_port))
        if self.proxy_port:
            line = line.replace(":443", f":{self.proxy_port}")
            line = re.sub(r"(https://[a-z0-9.-]+)/", rf"\1:{self.proxy_port}/", line)  # the URL's implied 443
        if self.admin:
            line = line.replace("127.0.0.1:9901", self.admin)
        return line

    def save_config(self, text, path=None):
        text = self.rewrite(text).replace("0.0.0.0:443", "127.0.0.1:0").replace("127.0.0.1:9901", "127.0.0.1:0")
        if "[admin]" not in text:
            text += '\n[admin]\nlisten = "127.0.0.1:0"\n'
        (path or self.work / "gatehouse.toml").write_text(text)

    def run(self, where, line):
        command = self.rewrite(line)
        if command.endswith("&"):
            self.start(where, command[:-1].strip())
            return
        done = subprocess.run(["bash", "-c", command], cwd=self.work, env=self.env, capture_output=True, text=True,
                              timeout=120)
        if done.returncode != 0:
            fail(f"{where}: `{line}` exited {done.returncode}:\n{done.stdout}{done.stderr}")
        words = command.split()
        if done.returncode == 0 and words[:2] == ["gatehouse", "init"]:
            config = self.work / words[2] / "gatehouse.toml"  # `init DIR ...`: DIR/gatehouse.toml
            self.save_config(config.read_text(), config)
        return done.stdout

    def start(self, where, command):
        process = subprocess.Popen(["bash", "-c", "exec " + command], cwd=self.work, env=self.env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.background.append(process)
        if shlex.split(command)[:2] != ["gatehouse", "run"]:
            wait_for_port(self.upstream_port, where)
            return
        ready = threading.Event()

        def read():
            for raw in process.stdout:
                try:
                    line = json.loads(raw)
                except ValueError:
                    continue
                if line.get("event") == "ready":
                    self.admin = line.get("admin")
                    self.proxy_port = int(line["listeners"][0]["address"].rsplit(":", 1)[1])
                    ready.set()
                self.log_lines.append(line)
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(30) or self.admin is None:
            fail(f"{where}: `{command}` never printed its ready line")

    def stop(self):
        for process in self.background:
            process.terminate()
            process.wait(timeout=30)
        self.background = []
        self.proxy_port = self.admin = None

    def check_alice_admitted(self, path):
        allowed = [l for l in self.log_lines
                   if l.get("decision") == "allow" and l.get("subject", "").startswith("CN=alice,")]
        if not allowed:
            fail(f"{path}: the access log has no allowed request by alice:\n" +
                 "\n".join(map(json.dumps, self.log_lines)))
        self.log_lines = []


def wait_for_port(port, where):
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    fail(f"{where}: nothing listens on {port}")


def sections(path):
    """(first line number, title) of each `## ` heading."""
    return [(n, line[3:].strip()) for n, line in enumerate(path.read_text().splitlines(), 1)
            if line.startswith("## ")]


def section_at(headings, line):
    titles = [title for start, title in headings if start < line]
    return titles[-1] if titles else ""


def alice_in_chromium(guide, work):
    """The quick start's end for a tester: Alice does what her bundle's README.txt says (trust
    root.pem, import alice.p12 with the password) and opens the site in Chromium."""
    bundle = work / "staging/ca/bundles/alice"
    password = (work / "alice-password.txt").read_text().strip()
    browser = Chromium(work)
    home = browser.home(bundle / "root.pem", bundle / "alice.p12", password)
    dom, error = browser.visit(home, "staging.acme.example", guide.proxy_port)
    if error or "Directory listing" not in dom:
        fail(f"quick start: Alice in Chromium sees {error or dom[:400]!r}, not the staging app")
    else:
        print("quick start: Alice is admitted in Chromium", flush=True)


def run_guide(gatehouse, source, work):
    guide = Guide(gatehouse, work)
    doc = source / "docs" / "private-ca.md"
    headings = sections(doc)
    quick_start = None  # the title of the quick start while its blocks run
    if not any(title.startswith("Quick start") for _, title in headings):
        fail("docs/private-ca.md has no \"## Quick start\" section")
    try:
        for lang, line, text in blocks(doc):
            where = f"docs/private-ca.md:{line}"
            section = section_at(headings, line)
            if quick_start and section != quick_start:
                alice_in_chromium(guide, work)
                guide.stop()  # the quick start's proxy and upstream; the long path starts afresh
                guide.check_alice_admitted(f"docs/private-ca.md \"{quick_start}\"")
                quick_start = None
            if section.startswith("Quick start"):
                quick_start = section
            if lang == "toml":
                guide.save_config(text)
            elif lang == "sh":
                for command in commands(text):
                    out = guide.run(where, command)
                    if out is not None and command.startswith("curl --fail"):
                        if "Directory listing" not in out:
                            fail(f"{where}: the request did not reach the upstream:\n{out}")
                    if out is not None and "/clients" in command:  # alice expires in 90 days: not listed
                        try:
                            listed = json.loads(out)
                        except ValueError:
                            listed = None
                        if not isinstance(listed, list):
                            fail(f"{where}: /clients did not answer a JSON array:\n{out}")
    finally:
        guide.stop()
    guide.check_alice_admitted("docs/private-ca.md")


def check_configs(source, work, gatehouse):
    docs = [source / "README.md"] + sorted((source / "docs").glob("*.md"))
    checked = 0
    for doc in docs:
        complete = None
        for lang, line, text in blocks(doc):
            if lang != "toml":
                continue
            if re.search(r"^\s*\[\[listener\]\]", text, re.M):
                complete = text
            elif complete is None:
                fail(f"{doc.relative_to(source)}:{line}: a fragment with no complete config before it")
                continue
            else:
                text = complete + "\n" + text
            config = work / f"doc-{checked}.toml"
            config.write_text(text)
            done = subprocess.run([gatehouse, "check", "-c", str(config)], cwd=work, capture_output=True, text=True)
            if done.returncode != 0:
                fail(f"{doc.relative_to(source)}:{line}: `gatehouse check` says:\n{done.stdout}{done.stderr}")
            checked += 1
    if checked < 4:
        fail(f"only {checked} toml blocks found in the docs")
    print(f"{checked} toml blocks of the docs pass `gatehouse check`")


def check_reasons_documented(source):
    """Every handshake reason keyword (common/reason.cpp) is in README.md's list and the metric's."""
    names = re.findall(r'"([a-z_]+)"', (source / "common" / "reason.cpp").read_text())
    # Not handshake results: `ok`, and reasons only `verify --name` and upstream checks give.
    for keyword in sorted(set(names) - {"ok", "name_mismatch", "upstream_unavailable"}):
        for doc in ("README.md", "metrics/README.md"):
            if f"`{keyword}`" not in (source / doc).read_text():
                fail(f"{doc} does not name the reason `{keyword}`")
    print(f"{len(names)} reason keywords documented")


def main():
    gatehouse, source = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        run_guide(gatehouse, source, work)
        check_configs(source, work, gatehouse)
    check_reasons_documented(source)
    print(f"{len(FAILURES)} failure(s)")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
