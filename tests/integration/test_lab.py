"""Lab self-test: the lab's parts are real and behave as the rest of the suite assumes."""
import json
import os
import subprocess
import sys
import time
import uuid

import pytest

from lab import nodes
from lab.config import ROOT

pytestmark = pytest.mark.lab


def _ns(lab, prefix):
    name = "%s-%s" % (prefix, uuid.uuid4().hex[:6])
    lab.kubectl_run("create", "namespace", name)
    return name


def _pod_manifest(name, annotations=None):
    return json.dumps({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": {"containers": [{"name": "main", "image": "registry.invalid/lab/app:1"}]},
    })


def test_status_reports_every_component_healthy(lab):
    res = subprocess.run([sys.executable, "-m", "lab", "status"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    for component in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "registry"):
        assert any(line.startswith(component) and "healthy" in line for line in res.stdout.splitlines()), res.stdout


def test_apiserver_reports_the_stamped_version(lab):
    out = json.loads(lab.kubectl_run("version", "-o", "json").stdout)
    assert out["serverVersion"]["gitVersion"] == "v1.34.4"
    assert out["serverVersion"]["minor"] == "34"


def test_deployment_of_three_replicas_becomes_ready(lab):
    ns = _ns(lab, "lab-deploy")
    try:
        lab.kubectl_run("-n", ns, "create", "deployment", "web", "--image=registry.invalid/lab/web:1", "--replicas=3")
        lab.kubectl_run("-n", ns, "rollout", "status", "deployment/web", "--timeout=90s")
        dep = json.loads(lab.kubectl_run("-n", ns, "get", "deployment", "web", "-o", "json").stdout)
        assert dep["status"]["readyReplicas"] == 3
    finally:
        lab.kubectl_run("delete", "namespace", ns, "--wait=false")


def test_job_completes(lab):
    ns = _ns(lab, "lab-job")
    try:
        lab.kubectl_run("-n", ns, "create", "job", "once", "--image=registry.invalid/lab/job:1")
        lab.kubectl_run("-n", ns, "wait", "--for=condition=Complete", "job/once", "--timeout=90s")
        pods = json.loads(lab.kubectl_run("-n", ns, "get", "pods", "-o", "json").stdout)["items"]
        assert [p["status"]["phase"] for p in pods] == ["Succeeded"]
    finally:
        lab.kubectl_run("delete", "namespace", ns, "--wait=false")


@pytest.mark.parametrize("fault,phase,reason", [
    ("ImagePullBackOff", "Pending", "ImagePullBackOff"),
    ("CrashLoopBackOff", "Running", "CrashLoopBackOff"),
])
def test_pod_marked_for_a_fault_shows_its_reason(lab, fault, phase, reason):
    ns = _ns(lab, "lab-fault")
    try:
        lab.kubectl_run("-n", ns, "apply", "-f", "-", input_text=_pod_manifest("broken", {"kwok.test/fault": fault}))
        lab.kubectl_run("-n", ns, "wait", "--for=jsonpath={.status.containerStatuses[0].state.waiting.reason}=" + reason,
                        "pod/broken", "--timeout=60s")
        pod = json.loads(lab.kubectl_run("-n", ns, "get", "pod", "broken", "-o", "json").stdout)
        assert pod["status"]["phase"] == phase
        ready = [c for c in pod["status"]["conditions"] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "False"
    finally:
        lab.kubectl_run("delete", "namespace", ns, "--wait=false")


def test_job_pod_marked_failed_fails_the_job(lab):
    ns = _ns(lab, "lab-jobfail")
    job = {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "doomed"},
        "spec": {"backoffLimit": 0, "template": {
            "metadata": {"annotations": {"kwok.test/fault": "Failed"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "registry.invalid/lab/job:1"}]}}},
    }
    try:
        lab.kubectl_run("-n", ns, "apply", "-f", "-", input_text=json.dumps(job))
        lab.kubectl_run("-n", ns, "wait", "--for=condition=Failed", "job/doomed", "--timeout=90s")
    finally:
        lab.kubectl_run("delete", "namespace", ns, "--wait=false")


def test_ready_after_delays_readiness(lab):
    ns = _ns(lab, "lab-delay")
    try:
        lab.kubectl_run("-n", ns, "apply", "-f", "-", input_text=_pod_manifest("slow", {"kwok.test/ready-after": "4"}))
        lab.kubectl_run("-n", ns, "wait", "--for=jsonpath={.spec.nodeName}", "pod/slow", "--timeout=30s")
        pod = json.loads(lab.kubectl_run("-n", ns, "get", "pod", "slow", "-o", "json").stdout)
        assert pod["status"]["phase"] == "Pending"
        lab.kubectl_run("-n", ns, "wait", "--for=condition=Ready", "pod/slow", "--timeout=60s")
        pod = json.loads(lab.kubectl_run("-n", ns, "get", "pod", "slow", "-o", "json").stdout)
        created = pod["metadata"]["creationTimestamp"]
        ready = [c["lastTransitionTime"] for c in pod["status"]["conditions"] if c["type"] == "Ready"][0]
        from datetime import datetime
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        assert (datetime.strptime(ready, fmt) - datetime.strptime(created, fmt)).total_seconds() >= 3
    finally:
        lab.kubectl_run("delete", "namespace", ns, "--wait=false")


def test_a_node_annotated_ready_after_turns_ready_that_late(lab):
    """The microk8s stand-in annotates the Nodes it registers (KAAPANA_LAB_NODE_READY_DELAY): KWOK's
    lab-node-initialize-after stage makes them Ready only that long after they were created."""
    name = "lab-slow-node-%d" % (uuid.uuid4().int % 100000)
    node = {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "annotations": {"kwok.test/ready-after": "6"}}}
    try:
        lab.kubectl_run("create", "-f", "-", input_text=json.dumps(node))
        time.sleep(2)
        early = json.loads(lab.kubectl_run("get", "node", name, "-o", "json").stdout)
        assert not [c for c in early["status"].get("conditions", []) if c["type"] == "Ready" and c["status"] == "True"]
        lab.kubectl_run("wait", "--for=condition=Ready", "node/" + name, "--timeout=60s")
        ready = json.loads(lab.kubectl_run("get", "node", name, "-o", "json").stdout)
        heartbeat = [c["lastHeartbeatTime"] for c in ready["status"]["conditions"] if c["type"] == "Ready"][0]
        from datetime import datetime
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        waited = (datetime.strptime(heartbeat, fmt) - datetime.strptime(ready["metadata"]["creationTimestamp"], fmt))
        assert waited.total_seconds() >= 5, waited
    finally:
        lab.kubectl_run("delete", "node", name, "--wait=false", check=False)


def _helm(lab, *args, registry_config, **kw):
    env = lab.env()
    env["HELM_REGISTRY_CONFIG"] = registry_config
    check = kw.pop("check", False)
    return subprocess.run([lab.helm] + list(args), env=env, capture_output=True, text=True, check=check, **kw)


def test_registry_push_and_pull_need_the_password(lab, tmp_path):
    regcfg = str(tmp_path / "registry.json")
    chart = tmp_path / "selftest"
    res = _helm(lab, "create", str(chart), registry_config=regcfg)
    assert res.returncode == 0, res.stderr
    res = _helm(lab, "package", str(chart), "-d", str(tmp_path), "--version", "0.0.%d" % (uuid.uuid4().int % 1000),
                registry_config=regcfg)
    tgz = res.stdout.strip().rsplit(": ", 1)[-1]
    ref = "oci://%s/selftest" % lab.registry

    refused = _helm(lab, "push", tgz, ref, "--plain-http", registry_config=regcfg)
    assert refused.returncode != 0
    assert "401" in refused.stderr or "unauthorized" in refused.stderr.lower() or "basic credential" in refused.stderr

    wrong = _helm(lab, "registry", "login", lab.registry, "-u", lab.registry_user, "--password-stdin", "--plain-http",
                  registry_config=regcfg, input="not-the-password")
    assert wrong.returncode != 0

    ok = _helm(lab, "registry", "login", lab.registry, "-u", lab.registry_user, "--password-stdin", "--plain-http",
               registry_config=regcfg, input=lab.registry_password())
    assert ok.returncode == 0, ok.stderr
    pushed = _helm(lab, "push", tgz, ref, "--plain-http", registry_config=regcfg)
    assert pushed.returncode == 0, pushed.stderr
    (tmp_path / "pulled").mkdir()
    pulled = _helm(lab, "pull", ref + "/selftest", "--version", os.path.basename(tgz)[len("selftest-"):-4],
                   "--plain-http", "-d", str(tmp_path / "pulled"), registry_config=regcfg)
    assert pulled.returncode == 0, pulled.stderr


def test_fixture_charts_are_in_the_registry(lab, tmp_path):
    regcfg = str(tmp_path / "registry.json")
    _helm(lab, "registry", "login", lab.registry, "-u", lab.registry_user, "--password-stdin", "--plain-http",
          registry_config=regcfg, input=lab.registry_password(), check=True)
    import yaml
    charts = os.path.join(ROOT, "lab", "charts")
    for chart in sorted(c for c in os.listdir(charts) if os.path.isdir(os.path.join(charts, c))):
        with open(os.path.join(ROOT, "lab", "charts", chart, "Chart.yaml")) as handle:
            version = yaml.safe_load(handle)["version"]
        res = _helm(lab, "show", "chart", "oci://%s/charts/%s" % (lab.registry, chart), "--version", version,
                    "--plain-http", registry_config=regcfg)
        assert res.returncode == 0, (chart, res.stderr)
        assert yaml.safe_load(res.stdout)["version"] == version


def _podman(lab, *args, check=True):
    return subprocess.run(["podman"] + list(args), env=nodes.podman_env(lab.cfg), capture_output=True, text=True,
                          check=check)


def _exec(lab, node, *argv, check=True):
    res = _podman(lab, "exec", node, *argv, check=False)
    if check:
        assert res.returncode == 0, "%s: %s\n%s%s" % (node, " ".join(argv), res.stdout, res.stderr)
    return res


@pytest.fixture
def two_nodes(lab):
    names = ["lab-selftest-a", "lab-selftest-b"]
    for spec in (names[0] + ":primary", names[1]):
        res = subprocess.run([sys.executable, "-m", "lab", "node", spec], cwd=ROOT, capture_output=True,
                             text=True, check=False)
        assert res.returncode == 0, res.stdout + res.stderr
    yield names
    for name in names:
        subprocess.run([sys.executable, "-m", "lab", "node-rm", name], cwd=ROOT, capture_output=True, check=False)
        lab.kubectl_run("delete", "node", name, "--ignore-not-found")
    # `lab node-rm` of the primary takes its cluster's objects with it (the dns addon's CoreDNS above all): a later
    # cluster's fresh MicroK8s must not find them (its microk8s role would take them for its own dns addon).
    left = lab.kubectl_run("get", "deployments,configmaps,services", "-A", "-l",
                           "kaapana.lab/standin-cluster=" + names[0], "-o", "name").stdout.split()
    assert not left, left


def test_node_containers_reach_the_api_and_join(lab, two_nodes):
    main, worker = two_nodes
    for node in two_nodes:
        _exec(lab, node, "systemctl", "is-system-running", "--wait", check=False)
        res = _exec(lab, node, "curl", "-sS", "--cacert", "/etc/kaapana-lab/ca.crt", "--cert", "/etc/kaapana-lab/admin.crt",
                    "--key", "/etc/kaapana-lab/admin.key", lab.api_server + "/readyz")
        assert res.stdout.strip() == "ok"
        _exec(lab, node, "snap", "wait", "system", "seed.loaded")  # snapd refuses changes while it seeds
        _exec(lab, node, "snap", "install", "microk8s", "--classic", "--channel=1.33/stable")
    lab.kubectl_run("wait", "--for=condition=Ready", "node/" + main, "--timeout=60s")
    assert lab.kubectl_run("get", "node", worker, check=False).returncode != 0, "a worker joins only through join"
    token = json.loads(_exec(lab, main, "/snap/bin/microk8s", "add-node", "--format", "json").stdout)
    url = token["urls"][0]
    _exec(lab, worker, "/snap/bin/microk8s", "join", url, "--worker")
    lab.kubectl_run("wait", "--for=condition=Ready", "node/" + worker, "--timeout=60s")
    node = json.loads(lab.kubectl_run("get", "node", worker, "-o", "json").stdout)
    ips = [a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP"]
    assert ips == [nodes.container_ip(nodes.podman_env(lab.cfg), worker, lab.cfg.network)]


def test_nodes_answer_over_ssh_with_the_lab_key_only(lab, two_nodes, tmp_path):
    """Nodes are reachable like real hosts: SSH as root with the lab key (which Ansible's ssh connection uses with
    pipelining), while a key the lab never authorized is refused."""
    env = nodes.podman_env(lab.cfg)
    host = nodes.ssh_host_vars(lab.cfg, env, two_nodes[0])
    nodes.wait_for_ssh(lab.cfg, env, two_nodes[0])
    ssh = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"] + host["ansible_ssh_common_args"].split()
    ok = subprocess.run(ssh + ["-i", host["ansible_ssh_private_key_file"], "root@" + host["ansible_host"], "hostname"],
                        capture_output=True, text=True, timeout=60, check=False)
    assert ok.returncode == 0 and ok.stdout.strip() == two_nodes[0], ok.stderr
    stranger = str(tmp_path / "stranger")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", stranger], check=True)
    refused = subprocess.run(ssh + ["-i", stranger, "root@" + host["ansible_host"], "true"], capture_output=True,
                             text=True, timeout=60, check=False)
    assert refused.returncode == 255 and "Permission denied" in refused.stderr, refused.stderr
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": {two_nodes[0]: dict(
        host, ansible_python_interpreter="/usr/bin/python3")}}}))
    res = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible"), "-i", str(inventory), "all",
                          "-m", "ansible.builtin.ping", "-vvv"], cwd=ROOT, env=lab.env(), capture_output=True,
                         text=True, timeout=120, check=False)
    assert res.returncode == 0 and '"ping": "pong"' in res.stdout, res.stdout[-2000:]
    assert "PUT " not in res.stdout, "pipelining (ansible.cfg) should send modules over the SSH session, not sftp"
