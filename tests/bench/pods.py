"""pods_ready against `kubectl wait` and kubernetes.core.k8s_info (wait: true) on N KWOK pods.

For each size and tool: a Deployment of N pods whose pods turn Ready `ready_after` seconds after
they are scheduled (KWOK stage); once all N pods exist the tool starts; a watcher records when the
last pod turned Ready; the tool's delay is its return time minus that moment. API requests come
from the lab's audit log (by user agent, tools run one at a time), CPU seconds from rusage."""
import json
import threading
import time
import uuid

from tests.bench.common import BIN, audit_requests, kubectl, timed

TOOLS = ("pods_ready", "kubectl wait", "k8s_info")


def _deployment(ns, n, ready_after):
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bench", "namespace": ns},
        "spec": {"replicas": n, "selector": {"matchLabels": {"app": "bench"}},
                 "template": {"metadata": {"labels": {"app": "bench"},
                                           "annotations": {"kwok.test/ready-after": str(ready_after)}},
                              # the lab's pool node only: node containers that come and go during other
                              # work must not take (and then lose) benchmark pods
                              "spec": {"nodeSelector": {"kaapana.io/lab-pool": "true"},
                                       "containers": [{"name": "c", "image": "registry.invalid/bench:1"}]}}},
    })


class ReadyWatcher(threading.Thread):
    """Follows the pods of a namespace with `kubectl get -w` and notes when the N-th turns Ready."""

    def __init__(self, ns, n):
        super().__init__(daemon=True)
        self.ns, self.n = ns, n
        self.last_ready = None
        self.proc = None

    def run(self):
        import subprocess
        from lab.config import CONFIG
        jsonpath = '{.object.metadata.name} {.object.status.conditions[?(@.type=="Ready")].status}{"\\n"}'
        self.proc = subprocess.Popen(
            [CONFIG.bin("kubectl"), "--kubeconfig", CONFIG.kubeconfig, "-n", self.ns, "get", "pods", "-w",
             "--output-watch-events", "-o", "jsonpath=" + jsonpath],
            stdout=subprocess.PIPE, text=True)
        ready = set()
        for line in self.proc.stdout:
            parts = line.split()
            if len(parts) == 2 and parts[1] == "True":
                ready.add(parts[0])
                if len(ready) >= self.n and self.last_ready is None:
                    self.last_ready = time.monotonic()
                    self.proc.terminate()
                    return

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()


def _wait_pods_exist(ns, n, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        out = kubectl("-n", ns, "get", "pods", "-o", "jsonpath={range .items[*]}{.spec.nodeName}{\"\\n\"}{end}",
                      check=False).stdout
        if sum(1 for line in out.splitlines() if line.strip()) >= n:
            return
        time.sleep(1)
    raise RuntimeError("only part of %d pods appeared in %s" % (n, ns))


def _tool_argv(tool, ns, n, timeout):
    if tool == "pods_ready":
        return [BIN + "/ansible", "localhost", "-e", "ansible_python_interpreter=" + BIN + "/python",
                "-m", "kaapana.platform.pods_ready", "-a",
                json.dumps({"namespaces": [ns], "timeout": timeout, "min_pods": n})]
    if tool == "kubectl wait":
        from lab.config import CONFIG
        return [CONFIG.bin("kubectl"), "--kubeconfig", CONFIG.kubeconfig, "-n", ns, "wait", "--for=condition=Ready",
                "pod", "--all", "--timeout=%ds" % timeout]
    return [BIN + "/ansible", "localhost", "-e", "ansible_python_interpreter=" + BIN + "/python",
            "-m", "kubernetes.core.k8s_info", "-a",
            json.dumps({"kind": "Pod", "namespace": ns, "label_selectors": ["app=bench"], "wait": True,
                        "wait_condition": {"type": "Ready", "status": "True"}, "wait_timeout": timeout})]


AGENTS = {"pods_ready": "OpenAPI-Generator", "kubectl wait": "kubectl", "k8s_info": "OpenAPI-Generator"}


def run_one(tool, n, ready_after, log):
    ns = "bench-%s-%s" % (tool.split()[0].replace("_", ""), uuid.uuid4().hex[:5])
    kubectl("create", "namespace", ns)
    try:
        kubectl("apply", "-f", "-", input_text=_deployment(ns, n, ready_after))
        _wait_pods_exist(ns, n)
        watcher = ReadyWatcher(ns, n)
        watcher.start()
        wall_start = time.time()
        res, wall, cpu, end = timed(_tool_argv(tool, ns, n, 900))
        wall_end = time.time()
        watcher.join(timeout=60)
        watcher.stop()
        ok = res.returncode == 0
        if not ok:
            log("  %s failed: %s" % (tool, (res.stdout + res.stderr)[-500:]))
        delay = (end - watcher.last_ready) if watcher.last_ready else None
        time.sleep(2)  # the audit log is written asynchronously
        requests = audit_requests(wall_start - 1, wall_end + 1, AGENTS[tool])
        return {"tool": tool, "pods": n, "ok": ok, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                "delay_s": None if delay is None else round(delay, 2), "api_requests": requests}
    finally:
        kubectl("delete", "namespace", ns, "--wait=true", "--timeout=600s", check=False)


def run(sizes, log, tools=TOOLS):
    results = []
    for n in sizes:
        ready_after = max(25, n // 40)
        for tool in tools:
            log("pods: %d pods, %s (ready %ds after scheduling)..." % (n, tool, ready_after))
            results.append(run_one(tool, n, ready_after, log))
            log("  %s" % json.dumps(results[-1]))
    return results
