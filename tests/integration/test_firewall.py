"""firewalld on a node (as AlmaLinux runs it by default): the preflight names the ports firewalld does not let through
before anything changes; with kaapana_firewall_manage the microk8s role opens them, permanently and at once, and a
second run changes nothing. Real firewalld (Debian's package, in the node image, started here only)."""
import pytest

from lab import nodes as lab_nodes
from tests.integration.nodes import node_containers, node_exec, recap, run_role_on_node

pytestmark = [pytest.mark.lab]

NODE = "fw-main"
PORTS = ["16443/tcp", "10250/tcp", "25000/tcp", "4789/udp", "80/tcp", "443/tcp", "11112/tcp", "80-32000/tcp"]


@pytest.fixture(scope="module")
def node(lab):
    # not primary: only the host's own state matters here, not a cluster
    with node_containers(lab, [NODE], primary="") as names:
        # systemd runs once sshd (a unit of it) answers
        lab_nodes.wait_for_ssh(lab.cfg, lab_nodes.podman_env(lab.cfg), names[0])
        node_exec(lab, names[0], "systemctl", "enable", "--now", "firewalld")
        assert node_exec(lab, names[0], "firewall-cmd", "--state").stdout.strip() == "running"
        yield names[0]


def _query(lab, node, port, permanent=False):
    argv = ["firewall-cmd"] + (["--permanent"] if permanent else []) + ["--zone", "public", "--query-port", port]
    return node_exec(lab, node, *argv, check=False).stdout.strip()


@pytest.mark.reliability('faults', 'firewalld without the ports MicroK8s and Kaapana need: the preflight names them before any change')
def test_preflight_names_the_closed_ports_before_any_change(lab, node, tmp_path):
    res = run_role_on_node(lab, tmp_path, node, "microk8s", {}, tasks_from="validate")
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    assert "firewalld (zone public) does not let through %s" % ", ".join(PORTS) in " ".join(out.split()), out[-3000:]
    assert "kaapana_firewall_manage" in out
    assert node_exec(lab, node, "snap", "list", "microk8s", check=False).returncode != 0
    assert all(_query(lab, node, port) == "no" for port in PORTS)


def test_firewall_manage_opens_the_ports_once(lab, node, tmp_path):
    settings = {"kaapana_firewall_manage": True}
    res = run_role_on_node(lab, tmp_path, node, "microk8s", settings, tasks_from="firewall")
    assert res.returncode == 0, res.stdout[-3000:]
    assert all(_query(lab, node, port) == "yes" for port in PORTS)
    assert all(_query(lab, node, port, permanent=True) == "yes" for port in PORTS)
    again = run_role_on_node(lab, tmp_path, node, "microk8s", settings, tasks_from="firewall")
    assert again.returncode == 0 and recap(again.stdout)[node]["changed"] == 0, again.stdout[-3000:]
    # and the preflight is content now, without kaapana_firewall_manage
    check = run_role_on_node(lab, tmp_path, node, "microk8s", {}, tasks_from="validate")
    assert check.returncode == 0, check.stdout[-3000:]
