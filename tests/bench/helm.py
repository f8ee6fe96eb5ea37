"""No-op runs of kaapana.platform.helm_release against kubernetes.core.helm on the same release.

Both get the same chart, version and values, interleaved in one playbook so Ansible's start-up
cost is paid once and the per-task times (from the json callback) compare the modules themselves.
A shim in front of the real helm binary records which task invoked helm, and how often."""
import collections
import json
import os
import stat
import tempfile
import uuid
from datetime import datetime

import yaml

from tests.bench.common import BIN, env, kubectl, timed
from tests.lab.config import CONFIG

SHIM = """#!/bin/sh
echo "${BENCH_TASK:-none}" >> "%s"
exec "%s" "$@"
"""


def _seconds(duration):
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ"
    return (datetime.strptime(duration["end"], fmt) - datetime.strptime(duration["start"], fmt)).total_seconds()


def run(repeats, log):
    work = tempfile.mkdtemp(prefix="kaapana-bench-helm-")
    helm = os.path.join(work, "helm")
    calls = os.path.join(work, "helm-calls.log")
    with open(helm, "w") as handle:
        handle.write(SHIM % (calls, CONFIG.bin("helm")))
    os.chmod(helm, stat.S_IRWXU)
    charts = CONFIG.path("charts")
    chart = os.path.join(charts, sorted(f for f in os.listdir(charts) if f.startswith("gpu-operator-"))[0])
    ns = "bench-helm-" + uuid.uuid4().hex[:5]
    values = {"driver": {"enabled": False}, "toolkit": {"enabled": True}}
    ours = {"kaapana.platform.helm_release": {"name": "bench", "namespace": ns, "create_namespace": True,
                                              "chart_ref": chart, "values": values, "helm_binary": helm,
                                              "kubeconfig": CONFIG.kubeconfig}}
    theirs = {"kubernetes.core.helm": {"name": "bench", "namespace": ns, "create_namespace": True, "chart_ref": chart,
                                       "values": values, "binary_path": helm, "kubeconfig": CONFIG.kubeconfig}}
    tasks = [dict(ours, name="install", environment={"BENCH_TASK": "install"})]
    for i in range(repeats):
        tasks.append(dict(ours, name="helm_release %d" % i, environment={"BENCH_TASK": "helm_release"}))
        tasks.append(dict(theirs, name="kubernetes.core.helm %d" % i, environment={"BENCH_TASK": "kubernetes.core.helm"}))
    play = [{"name": "helm no-op bench", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": os.path.join(BIN, "python")},
             "tasks": tasks}]
    path = os.path.join(work, "bench.yml")
    with open(path, "w") as handle:
        yaml.safe_dump(play, handle)
    try:
        res = timed([BIN + "/ansible-playbook", "-i", "localhost,", path], env())[0]
        report = json.loads(res.stdout[res.stdout.index("{"):])
        if res.returncode != 0:
            raise RuntimeError("bench playbook failed: %s" % res.stdout[-1500:])
        with open(calls) as handle:
            per_task = collections.Counter(line.strip() for line in handle)
        results = []
        for task in report["plays"][0]["tasks"][1:]:
            tool = task["task"]["name"].rsplit(" ", 1)[0]
            host = task["hosts"]["localhost"]
            results.append({"tool": tool, "ok": not host.get("failed"), "changed": bool(host.get("changed")),
                            "wall_s": round(_seconds(task["task"]["duration"]), 3),
                            "helm_calls": per_task[tool] / repeats})
            log("  %s" % json.dumps(results[-1]))
        return results
    finally:
        kubectl("delete", "namespace", ns, "--wait=false", check=False)
        timed([CONFIG.bin("helm"), "uninstall", "bench", "-n", ns, "--kubeconfig", CONFIG.kubeconfig], env())
