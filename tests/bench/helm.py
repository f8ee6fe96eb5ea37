"""No-op runs of kaapana.platform.helm_release against kubernetes.core.helm on the same release.

Both get the same chart, version and values; a counting shim in front of the real helm binary
records every helm invocation each tool makes."""
import json
import os
import stat
import tempfile
import uuid

from tests.bench.common import BIN, env, kubectl, timed
from tests.lab.config import CONFIG

SHIM = """#!/bin/sh
echo "$*" >> "%s"
exec "%s" "$@"
"""


def _shim(workdir):
    log = os.path.join(workdir, "helm-calls.log")
    path = os.path.join(workdir, "helm")
    with open(path, "w") as handle:
        handle.write(SHIM % (log, CONFIG.bin("helm")))
    os.chmod(path, stat.S_IRWXU)
    return path, log


def _count(log):
    if not os.path.exists(log):
        return 0
    with open(log) as handle:
        return sum(1 for _ in handle)


def run(repeats, log):
    work = tempfile.mkdtemp(prefix="kaapana-bench-helm-")
    helm, calls = _shim(work)
    chart = os.path.join(CONFIG.path("charts"), sorted(f for f in os.listdir(CONFIG.path("charts"))
                                                        if f.startswith("gpu-operator-"))[0])
    ns = "bench-helm-" + uuid.uuid4().hex[:5]
    values = {"driver": {"enabled": False}, "toolkit": {"enabled": True}}
    ours = [BIN + "/ansible", "localhost", "-m", "kaapana.platform.helm_release", "-a", json.dumps({
        "name": "bench", "namespace": ns, "create_namespace": True, "chart_ref": chart, "values": values,
        "helm_binary": helm, "kubeconfig": CONFIG.kubeconfig})]
    theirs = [BIN + "/ansible", "localhost", "-m", "kubernetes.core.helm", "-a", json.dumps({
        "name": "bench", "namespace": ns, "create_namespace": True, "chart_ref": chart, "values": values,
        "binary_path": helm, "kubeconfig": CONFIG.kubeconfig})]
    results = []
    try:
        res, _, _, _ = timed(ours, env())
        if res.returncode != 0:
            raise RuntimeError("installing the bench release failed: %s" % (res.stdout + res.stderr)[-800:])
        for tool, argv in (("helm_release", ours), ("kubernetes.core.helm", theirs)) * repeats:
            before = _count(calls)
            res, wall, cpu, _ = timed(argv, env())
            out = res.stdout
            changed = '"changed": true' in out or "CHANGED" in out.split("\n", 1)[0]
            results.append({"tool": tool, "ok": res.returncode == 0, "changed": changed, "wall_s": round(wall, 2),
                            "cpu_s": round(cpu, 2), "helm_calls": _count(calls) - before})
            log("  %s" % json.dumps(results[-1]))
    finally:
        kubectl("delete", "namespace", ns, "--wait=false", check=False)
        timed([CONFIG.bin("helm"), "uninstall", "bench", "-n", ns, "--kubeconfig", CONFIG.kubeconfig], env())
    return results
