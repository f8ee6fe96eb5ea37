"""No-op runs of kaapana.platform.helm_release against kubernetes.core.helm on the same release.

Both get the same chart, version and values, interleaved in one playbook so Ansible's start-up
cost is paid once and the per-task times (from the json callback) compare the modules themselves.
Two releases: the small gpu-operator fixture and a synthetic chart of BENCH_HELM_TEMPLATES (300) templates,
and an ansible.builtin.ping per repeat shows the floor every module pays on the host.
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
from lab.config import CONFIG

SHIM = """#!/bin/sh
echo "${BENCH_TASK:-none}" >> "%s"
exec "%s" "$@"
"""


def _seconds(duration):
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ"
    return (datetime.strptime(duration["end"], fmt) - datetime.strptime(duration["start"], fmt)).total_seconds()


def synthetic_chart(workdir, templates):
    """A chart of `templates` ConfigMaps of ~2 KiB each: a release the size of a large platform chart, so the cost
    of each helm invocation (which decodes the stored release) weighs as it does there."""
    root = os.path.join(workdir, "bench-large")
    os.makedirs(os.path.join(root, "templates"))
    with open(os.path.join(root, "Chart.yaml"), "w") as handle:
        handle.write("apiVersion: v2\nname: bench-large\nversion: 0.1.0\nappVersion: \"1\"\n")
    with open(os.path.join(root, "values.yaml"), "w") as handle:
        handle.write("toolkit:\n  enabled: false\n")
    payload = "x" * 2000
    for i in range(templates):
        with open(os.path.join(root, "templates", "cm-%03d.yaml" % i), "w") as handle:
            handle.write("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bench-large-%03d\n"
                         "data:\n  enabled: {{ .Values.toolkit.enabled | quote }}\n  payload: %s\n" % (i, payload))
    return root


def _releases(work):
    charts = CONFIG.path("charts")
    fixture = os.path.join(charts, sorted(f for f in os.listdir(charts) if f.startswith("gpu-operator-"))[0])
    templates = int(os.environ.get("BENCH_HELM_TEMPLATES", "300"))
    return [("gpu-operator fixture", fixture), ("%d templates" % templates, synthetic_chart(work, templates))]


def run(repeats, log):
    """Every release gets an install task, then per repeat: an ansible.builtin.ping (the cost any module pays on
    this host: Python start-up, AnsiballZ, ansible.module_utils.basic), helm_release and kubernetes.core.helm."""
    work = tempfile.mkdtemp(prefix="kaapana-bench-helm-")
    helm = os.path.join(work, "helm")
    calls = os.path.join(work, "helm-calls.log")
    with open(helm, "w") as handle:
        handle.write(SHIM % (calls, CONFIG.bin("helm")))
    os.chmod(helm, stat.S_IRWXU)
    values = {"driver": {"enabled": False}, "toolkit": {"enabled": True}}
    releases = [(label, chart, "bench-helm-" + uuid.uuid4().hex[:5]) for label, chart in _releases(work)]
    tasks = []
    for label, chart, ns in releases:
        ours = {"kaapana.platform.helm_release": {"name": "bench", "namespace": ns, "create_namespace": True,
                                                  "chart_ref": chart, "values": values, "helm_binary": helm,
                                                  "kubeconfig": CONFIG.kubeconfig}}
        theirs = {"kubernetes.core.helm": {"name": "bench", "namespace": ns, "create_namespace": True,
                                           "chart_ref": chart, "values": values, "binary_path": helm,
                                           "kubeconfig": CONFIG.kubeconfig}}
        tasks.append(dict(ours, name="install|%s" % label, environment={"BENCH_TASK": "install"}))
        for i in range(repeats):
            tasks.append({"name": "ansible.builtin.ping|%s|%d" % (label, i), "ansible.builtin.ping": {}})
            tasks.append(dict(ours, name="helm_release|%s|%d" % (label, i),
                              environment={"BENCH_TASK": "helm_release|" + label}))
            tasks.append(dict(theirs, name="kubernetes.core.helm|%s|%d" % (label, i),
                              environment={"BENCH_TASK": "kubernetes.core.helm|" + label}))
    play = [{"name": "helm no-op bench", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": os.path.join(BIN, "python")},
             "tasks": tasks}]
    path = os.path.join(work, "bench.yml")
    with open(path, "w") as handle:
        yaml.safe_dump(play, handle)
    try:
        res = timed([BIN + "/ansible-playbook", "-i", "localhost,", path], env())[0]
        if res.returncode != 0:
            raise RuntimeError("bench playbook failed: %s" % res.stdout[-1500:])
        report = json.loads(res.stdout[res.stdout.index("{"):])
        with open(calls) as handle:
            per_task = collections.Counter(line.strip() for line in handle)
        results = []
        for task in report["plays"][0]["tasks"]:
            tool, label = task["task"]["name"].split("|")[:2]
            if tool == "install":
                continue
            host = task["hosts"]["localhost"]
            results.append({"tool": tool, "release": label, "ok": not host.get("failed"),
                            "changed": bool(host.get("changed")),
                            "wall_s": round(_seconds(task["task"]["duration"]), 3),
                            "helm_calls": per_task["%s|%s" % (tool, label)] / repeats})
            log("  %s" % json.dumps(results[-1]))
        return results
    finally:
        for dummy, dummy2, ns in releases:
            timed([CONFIG.bin("helm"), "uninstall", "bench", "-n", ns, "--kubeconfig", CONFIG.kubeconfig], env())
            kubectl("delete", "namespace", ns, "--wait=false", check=False)
