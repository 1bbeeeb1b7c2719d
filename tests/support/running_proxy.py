"""`gatehouse run` as the Python tests use it: started on a config whose listeners bind port 0,
the ports read from its ready line, its access log collected as it is written."""
import json
import subprocess
import threading


class RunningProxy:
    def __init__(self, gatehouse, config):
        self.process = subprocess.Popen([str(gatehouse), "run", "-c", str(config)], stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, cwd=config.parent)
        self.ports, self.log, self.lock = {}, [], threading.Condition()
        said = []
        for line in self.process.stdout:
            said.append(line)
            if '"event":"ready"' in line:
                ready = json.loads(line)
                self.admin_port = int(ready["admin"].rsplit(":", 1)[1]) if ready.get("admin") else None
                for entry in ready["listeners"]:
                    self.ports[entry["name"]] = int(entry["address"].rsplit(":", 1)[1])
                break
        if not self.ports:
            raise RuntimeError("the proxy never became ready: " + "".join(said))
        threading.Thread(target=self.collect, daemon=True).start()

    def collect(self):
        for line in self.process.stdout:
            if line.startswith("{") and '"decision"' in line:
                with self.lock:
                    self.log.append(json.loads(line))
                    self.lock.notify_all()

    def mark(self):
        with self.lock:
            return len(self.log)

    def lines_since(self, mark, want, count=1):
        """The access-log lines after `mark`, once `count` of them satisfy `want` (or 10 s passed)."""
        with self.lock:
            self.lock.wait_for(lambda: sum(1 for e in self.log[mark:] if want(e)) >= count, timeout=10)
            return list(self.log[mark:])

    def line_since(self, mark, listener):
        """The first access-log line of `listener` after `mark` (waits up to 10 s for it), or {}."""
        lines = self.lines_since(mark, lambda e: e.get("listener") == listener)
        return next((e for e in lines if e.get("listener") == listener), {})

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
