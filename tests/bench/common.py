"""Shared pieces of `make bench`: running tools, counting API requests from the lab's audit log."""
import json
import os
import resource
import subprocess
import sys
import time
from datetime import datetime

from lab.config import CONFIG, ROOT

BIN = os.path.dirname(sys.executable)


def env():
    e = dict(os.environ)
    e.update({
        "KUBECONFIG": CONFIG.kubeconfig, "K8S_AUTH_KUBECONFIG": CONFIG.kubeconfig,
        "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(ROOT, ".build", "collections"),
        "ANSIBLE_STDOUT_CALLBACK": "json", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "PATH": os.path.dirname(CONFIG.bin("helm")) + os.pathsep + BIN + os.pathsep + e.get("PATH", ""),
    })
    return e


def timed(argv, env_=None, timeout=1800):
    """Run argv; return (completed, wall seconds, CPU seconds of it and its children, end monotonic time)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    res = subprocess.run(argv, capture_output=True, text=True, env=env_ or env(), timeout=timeout, check=False)
    end = time.monotonic()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return res, end - start, cpu, end


def kubectl(*args, check=True, input_text=None):
    return subprocess.run([CONFIG.bin("kubectl"), "--kubeconfig", CONFIG.kubeconfig] + list(args),
                          capture_output=True, text=True, check=check, input=input_text)


def _ts(text):
    return datetime.strptime(text[:26].rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f").timestamp()


def audit_requests(since_wall, until_wall, agent_prefix):
    """Requests in the audit log between two wall-clock times whose user agent starts with agent_prefix."""
    path = CONFIG.path("logs", "audit.log")
    count = 0
    seen = set()
    with open(path) as handle:
        for line in handle:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if not ev.get("userAgent", "").startswith(agent_prefix):
                continue
            when = _ts(ev.get("requestReceivedTimestamp") or ev["stageTimestamp"])
            if since_wall <= when <= until_wall and ev["auditID"] not in seen:
                seen.add(ev["auditID"])
                count += 1
    return count


def ratio(a, b):
    return (a / b) if b else float("inf")
