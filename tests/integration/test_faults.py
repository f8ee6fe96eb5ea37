"""Faults during real runs, and the re-run that must converge afterwards: a node container stopped during
the multi-node join, the OCI registry down during the chart pull, the controller killed during
`helm install` and during the readiness wait, kube-apiserver restarted during the wait, and a platform
release left in pending-upgrade."""
import base64
import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.integration.nodes import (
    lab_platform_vars, node_containers, node_exec, podman, pods_not_ready, run_playbook, write_inventory)
from lab.config import ROOT

pytestmark = [pytest.mark.lab, pytest.mark.slow]

NODES = ["flt-main", "flt-worker"]
# Namespaces of this module's own, so that nothing it leaves can meet another test's platform.
NS = "flt-"
PLATFORM_NAMESPACES = [NS + "admin", NS + "services", NS + "extensions"]
HELM_NAMESPACE = NS + "helm"
DOMAIN = "kaapana.faults.lab.internal"
PROJECT = {"lab": {"projectNamespace": NS + "project"}}


def _group_vars(lab):
    return lab_platform_vars(
        lab,
        kaapana_domain=DOMAIN,
        kaapana_helm_namespace=HELM_NAMESPACE,
        kaapana_admin_namespace=NS + "admin",
        kaapana_services_namespace=NS + "services",
        kaapana_extensions_namespace=NS + "extensions",
        kaapana_platform_extra_values=PROJECT,
        kaapana_keycloak_admin_password="Fault-Keycloak-1!",
        kaapana_platform_wait_timeout=300,
        kaapana_platform_wait_settle=3,
        kaapana_platform_wait_progress_interval=3,
    )


def _slow(hook=0, pods=0):
    """Chart values that slow the fixture down: the pre-install hook Job and the platform pods finish
    that many seconds after they are scheduled (KWOK stage kwok.test/ready-after)."""
    values = dict(PROJECT)
    if hook:
        values["hookPodAnnotations"] = {"preInstall": {"kwok.test/ready-after": str(hook)}}
    if pods:
        values["podAnnotations"] = {"kwok.test/ready-after": str(pods)}
    return {"kaapana_platform_extra_values": values}


class Streamed:
    """ansible-playbook in the background; calls `action` once when a stdout line contains `trigger` (a string, or
    a tuple of strings any of which will do)."""

    def __init__(self, lab, playbook, inventory, extra_vars=None, trigger=None, action=None):
        argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory,
                os.path.join(ROOT, playbook)]
        if extra_vars:
            argv += ["-e", json.dumps(extra_vars)]
        env = dict(lab.env(), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        self.lines = []
        self.fired = threading.Event()
        self.trigger, self.action = trigger, action
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)
            triggers = self.trigger if isinstance(self.trigger, tuple) else (self.trigger,)
            if self.trigger and not self.fired.is_set() and any(t in line for t in triggers):
                self.fired.set()
                self.action(self)

    def kill(self):
        """What a lost controller looks like: the whole ansible-playbook process group gets SIGKILL."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def wait(self, timeout=900):
        rc = self.proc.wait(timeout=timeout)
        self.reader.join(timeout=30)
        return rc, "".join(self.lines)


def _release_status(lab, name="kaapana-admin-chart", namespace=HELM_NAMESPACE):
    out = lab.kubectl_run("-n", namespace, "get", "secret", "-l", "owner=helm,name=%s" % name, "-o", "json").stdout
    items = json.loads(out)["items"]
    if not items:
        return None
    return max(items, key=lambda s: int(s["metadata"]["labels"]["version"]))["metadata"]["labels"]["status"]


def _wait_for(check, what, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError("timed out waiting for " + what)


@pytest.fixture(scope="module")
def faults(lab, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("faults")
    with node_containers(lab, NODES) as names:
        inv = write_inventory(tmp / "hosts.yml", names[:1], names[1:], group_vars=_group_vars(lab))
        # A restarted container may get another address: the inventory (SSH to addresses) is written anew then.

        def rewrite():
            return write_inventory(tmp / "hosts.yml", names[:1], names[1:], group_vars=_group_vars(lab))
        yield {"inventory": inv, "tmp": tmp, "rewrite": rewrite}
        # purge (both variables): this module's PVCs and volumes must not outlive its nodes
        run_playbook(lab, "playbooks/undeploy.yml", inv, extra_vars={
            "kaapana_undeploy_nuke_pods": True, "kaapana_purge_data": True, "kaapana_purge_confirm": DOMAIN})


# First in the module: the worker has not joined yet. The next test joins it for real.
@pytest.mark.reliability('faults', "a join to a main-node address nobody answers at fails showing microk8s join's own output, token masked")
def test_join_failure_shows_what_microk8s_join_printed(lab, faults):
    """The join URL is the main node's kaapana_node_ip (not the first of add-node's urls): pointed at an address no
    node has, `microk8s join` fails, and the role shows what it printed (stdout and the traceback on stderr)."""
    wrong = write_inventory(faults["tmp"] / "wrong-main-ip.yml", NODES[:1], NODES[1:], group_vars=_group_vars(lab),
                            host_vars={NODES[0]: {"kaapana_node_ip": "10.89.0.254"}})
    res = run_playbook(lab, "playbooks/prepare_nodes.yml", wrong)
    out = " ".join((res.stdout + res.stderr).split())
    assert res.returncode != 0, out[-3000:]
    assert "Joining %s failed (rc 1): Contacting cluster at 10.89.0.254" % NODES[1] in out, out[-3000:]
    assert "ConnectionRefusedError: [Errno 111] Connection refused" in out, out[-3000:]
    assert "non-zero return code" not in out.split("Joining %s failed" % NODES[1])[1][:300], out[-3000:]


@pytest.mark.reliability('faults', 'node container stopped during the multi-node join: clear UNREACHABLE error; re-run after restart converges')
def test_node_stopped_during_join_is_unreachable_and_a_rerun_converges(lab, faults):
    def stop_worker(_run):
        podman(lab, "stop", "-t", "0", NODES[1])

    run = Streamed(lab, "playbooks/prepare_nodes.yml", faults["inventory"],
                   trigger="Make a join token for %s" % NODES[1], action=stop_worker)
    try:
        rc, out = run.wait()
    finally:
        podman(lab, "start", NODES[1])
        node_exec(lab, NODES[1], "systemctl", "is-system-running", "--wait", check=False)
        faults["rewrite"]()
    assert run.fired.is_set(), out[-3000:]
    assert rc != 0, out[-3000:]
    # Depending on the moment the container went down: Ansible's UNREACHABLE for the worker, or the cluster
    # role's own message naming it (the join command killed mid-way, the token masked).
    named = [line for line in out.splitlines() if NODES[1] in line
             and ("UNREACHABLE" in line or "Joining %s failed" % NODES[1] in line)]
    assert named, out[-4000:]
    res = run_playbook(lab, "playbooks/prepare_nodes.yml", faults["inventory"])
    assert res.returncode == 0, res.stdout[-5000:]
    nodes = json.loads(lab.kubectl_run("get", "nodes", "-o", "json").stdout)["items"]
    ready = {n["metadata"]["name"]: any(c["type"] == "Ready" and c["status"] == "True"
                                        for c in n["status"].get("conditions", [])) for n in nodes}
    not_ready = {n["metadata"]["name"]: (n["metadata"].get("labels"), n["metadata"].get("annotations"),
                                         n["status"].get("conditions")) for n in nodes
                 if n["metadata"]["name"] in NODES and not ready[n["metadata"]["name"]]}
    assert ready.get(NODES[0]) and ready.get(NODES[1]), (ready, not_ready, res.stdout[-3000:])


@pytest.mark.reliability('faults', 'OCI registry down during the chart pull: retried 3 times, then a clear failure; no release created')
def test_registry_down_during_chart_pull_retries_then_fails_clearly(lab, faults):
    lab.stop_registry()
    try:
        res = run_playbook(lab, "playbooks/deploy.yml", faults["inventory"])
    finally:
        lab.start_registry()
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    assert "gave up after 4 attempts" in out and lab.registry in out, out[-4000:]
    assert _release_status(lab) is None, "a release was created although the chart could not be pulled"


@pytest.mark.reliability('faults', 'controller and helm killed during helm install (pending-install): re-run converges')
def test_killed_during_helm_install_then_rerun_converges(lab, faults):
    def kill_during_install(run):
        # helm install is blocked in the slow pre-install hook: take the controller and helm down together
        _wait_for(lambda: _release_status(lab) == "pending-install", "helm install to start", 120)
        run.kill()
        node_exec(lab, NODES[0], "pkill", "-9", "-f", "helm (upgrade|install)", check=False)

    run = Streamed(lab, "playbooks/deploy.yml", faults["inventory"], extra_vars=_slow(hook=60),
                   trigger="Install the platform chart", action=kill_during_install)
    rc, out = run.wait()
    assert run.fired.is_set(), out[-4000:]
    assert rc != 0
    assert _release_status(lab) == "pending-install"
    res = run_playbook(lab, "playbooks/deploy.yml", faults["inventory"])
    assert res.returncode == 0, res.stdout[-5000:]
    assert _release_status(lab) == "deployed"
    not_ready = pods_not_ready(lab, PLATFORM_NAMESPACES)
    assert not not_ready, not_ready


@pytest.mark.reliability('faults', 'killed during the readiness wait, re-run converges while kube-apiserver restarts mid-wait')
def test_killed_during_readiness_wait_then_rerun_survives_an_apiserver_restart(lab, faults):
    res = run_playbook(lab, "playbooks/undeploy.yml", faults["inventory"])
    assert res.returncode == 0, res.stdout[-4000:]
    run = Streamed(lab, "playbooks/deploy.yml", faults["inventory"], extra_vars=_slow(pods=45),
                   trigger="Show the progress of the platform's pods", action=lambda r: r.kill())
    rc, out = run.wait()
    assert run.fired.is_set() and rc != 0, out[-4000:]
    assert pods_not_ready(lab, PLATFORM_NAMESPACES), "the pods were ready already: the kill did not happen during the wait"

    def restart_apiserver(_run):
        lab.restart_apiserver()

    # The re-run's release is unchanged: its gate starts with the quick check, and goes on to the full wait
    # because the pods are still starting. The restart comes at whichever starts first.
    rerun = Streamed(lab, "playbooks/deploy.yml", faults["inventory"], extra_vars=_slow(pods=45),
                     trigger=("Check whether the pods of the unchanged release are all ready",
                              "Show the progress of the platform's pods"), action=restart_apiserver)
    rc, out = rerun.wait()
    assert rerun.fired.is_set(), out[-4000:]
    assert rc == 0, out[-5000:]
    not_ready = pods_not_ready(lab, PLATFORM_NAMESPACES)
    assert not not_ready, not_ready


def _force_status(lab, status, name="kaapana-admin-chart", namespace=HELM_NAMESPACE):
    """Rewrite the newest release revision as if helm had died in the middle of an upgrade."""
    items = json.loads(lab.kubectl_run("-n", namespace, "get", "secret", "-l", "owner=helm,name=%s" % name,
                                       "-o", "json").stdout)["items"]
    newest = max(items, key=lambda s: int(s["metadata"]["labels"]["version"]))
    release = json.loads(gzip.decompress(base64.b64decode(base64.b64decode(newest["data"]["release"]))))
    release["info"]["status"] = status
    newest["data"]["release"] = base64.b64encode(base64.b64encode(gzip.compress(json.dumps(release).encode()))).decode()
    newest["metadata"]["labels"]["status"] = status
    lab.kubectl_run("-n", namespace, "replace", "-f", "-", input_text=json.dumps(newest))


@pytest.mark.reliability('faults', 'platform release left in pending-upgrade is recovered by the next deploy')
def test_release_left_in_pending_upgrade_is_recovered_by_the_next_run(lab, faults):
    _force_status(lab, "pending-upgrade")
    assert _release_status(lab) == "pending-upgrade"
    res = run_playbook(lab, "playbooks/deploy.yml", faults["inventory"])
    assert res.returncode == 0, res.stdout[-5000:]
    assert "pending-upgrade" in res.stdout  # the role reports the recovery
    assert _release_status(lab) == "deployed"
    not_ready = pods_not_ready(lab, PLATFORM_NAMESPACES)
    assert not not_ready, not_ready


@pytest.mark.reliability('faults', 'a release kube-helm preinstalls ends failed: the gate names it and its status')
def test_failed_preinstalled_release_fails_the_gate_naming_it(lab, faults):
    # Kaapana's second phase: kube-helm's init-extensions Job installs kaapana-platform-chart, code-server-chart and
    # kaapana-workflows-core after the admin chart. When one of them fails the gate must say which, not time out.
    res = run_playbook(lab, "playbooks/undeploy.yml", faults["inventory"])
    assert res.returncode == 0, res.stdout[-5000:]
    values = dict(PROJECT, lab=dict(PROJECT["lab"], preinstallFailRelease="code-server-chart"))
    res = run_playbook(lab, "playbooks/deploy.yml", faults["inventory"],
                       extra_vars={"kaapana_platform_extra_values": values})
    assert res.returncode != 0
    assert "code-server-chart (failed)" in res.stdout, res.stdout[-5000:]
    assert "job/init-extensions" in res.stdout
