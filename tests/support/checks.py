"""What the Python tests share for their verdict: every failed check is printed as it happens and
remembered, so a test reports all its failures at once and exits 1 if there was any."""
import subprocess

FAILURES = []


def fail(message):
    FAILURES.append(message)
    print("FAIL: " + message, flush=True)


def check(ok, message):
    if not ok:
        fail(message)
    return ok


def run(*args, stdin=None, text=True):
    """Runs a command; its stdout, or an exception with its stderr when it fails."""
    done = subprocess.run([str(a) for a in args], capture_output=True, input=stdin, text=text)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} exited {done.returncode}: {done.stderr!r}")
    return done.stdout
