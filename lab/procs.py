"""Start and stop the lab's host processes, each recorded by PID and start time so that
`lab down` stops exactly what `lab up` started and never a recycled PID."""
import json
import os
import signal
import subprocess
import time


def _start_ticks(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            # Field 22 (starttime) follows the parenthesised command name, which may contain spaces.
            return int(handle.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


class ProcessTable:
    def __init__(self, state_dir):
        self.dir = os.path.join(state_dir, "pids")
        self.logs = os.path.join(state_dir, "logs")
        os.makedirs(self.dir, exist_ok=True)
        os.makedirs(self.logs, exist_ok=True)

    def _record(self, name):
        return os.path.join(self.dir, name + ".json")

    def start(self, name, argv, env=None):
        log = open(os.path.join(self.logs, name + ".log"), "ab")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True, close_fds=True)
        log.close()
        with open(self._record(name), "w") as handle:
            json.dump({"pid": proc.pid, "ticks": _start_ticks(proc.pid), "argv": argv}, handle)
        return proc.pid

    def pid(self, name):
        """PID of a recorded process that is still the same process, else None."""
        try:
            with open(self._record(name)) as handle:
                rec = json.load(handle)
        except (OSError, ValueError):
            return None
        if rec.get("ticks") is not None and _start_ticks(rec["pid"]) == rec["ticks"]:
            return rec["pid"]
        return None

    def argv(self, name):
        """The command line a recorded process was started with (None if there is no record)."""
        try:
            with open(self._record(name)) as handle:
                return json.load(handle).get("argv")
        except (OSError, ValueError):
            return None

    def names(self):
        return sorted(f[:-5] for f in os.listdir(self.dir) if f.endswith(".json"))

    def running(self, name):
        pid = self.pid(name)
        if pid is None:
            return False
        try:
            with open("/proc/%d/stat" % pid) as handle:
                return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    def stop(self, name, timeout=20):
        pid = self.pid(name)
        if pid is not None:
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.time() + timeout
            while time.time() < deadline and self.running(name):
                time.sleep(0.2)
            if self.running(name):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                while self.running(name):
                    time.sleep(0.1)
        try:
            os.unlink(self._record(name))
        except FileNotFoundError:
            pass
        return pid

    def log_path(self, name):
        return os.path.join(self.logs, name + ".log")
