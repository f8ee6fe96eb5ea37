"""Bad inventory input is rejected before any host changes, with a message naming the variable."""
import pytest

from tests.integration.nodes import fingerprint, node_containers, node_exec, run_playbook, write_inventory

pytestmark = pytest.mark.lab

WITNESS = ["/etc/environment", "/etc/sysctl.d/90-kaapana.conf", "/var/lib/snapd/state.kaapana-lab-standin.json",
           "/snap/bin/microk8s"]

CASES = [
    # id, main, workers, extra vars, words the message must contain
    ("no-main-host", [], ["badin-a", "badin-b"], {}, ["kaapana_main", "exactly one host"]),
    ("two-main-hosts", ["badin-a", "badin-b"], [], {}, ["kaapana_main", "contains 2"]),
    ("bad-channel", ["badin-a"], ["badin-b"], {"kaapana_microk8s_channel": "1.33"},
     ["kaapana_microk8s_channel", "1.33/stable"]),
    ("unknown-addon", ["badin-a"], ["badin-b"], {"kaapana_microk8s_addons": [{"name": "dns"}, {"name": "dnss"}]},
     ["kaapana_microk8s_addons", "dnss"]),
    ("bad-cidr", ["badin-a"], ["badin-b"], {"kaapana_no_proxy_extra": ["10.0.0.0/33"]},
     ["kaapana_no_proxy_extra", "10.0.0.0/33"]),
    ("bad-node-role", ["badin-a"], ["badin-b"], {}, ["kaapana_node_role", "worker, control-plane", "manager"]),
]


@pytest.fixture(scope="module")
def two_nodes(lab):
    with node_containers(lab, ["badin-a", "badin-b"]) as names:
        yield names


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_fails_before_any_change(lab, two_nodes, tmp_path, case):
    case_id, main, workers, extra, words = case
    host_vars = {"badin-b": {"kaapana_node_role": "manager"}} if case_id == "bad-node-role" else {}
    before = {n: fingerprint(lab, n, WITNESS) for n in two_nodes}
    inv = write_inventory(tmp_path / "hosts.yml", main, workers, host_vars=host_vars)
    res = run_playbook(lab, "playbooks/prepare_nodes.yml", inv, extra_vars=extra)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    for word in words:
        assert word in out, "message lacks %r:\n%s" % (word, out[-3000:])
    after = {n: fingerprint(lab, n, WITNESS) for n in two_nodes}
    assert after == before, "a host changed although the input was rejected"
    assert "microk8s" not in node_exec(lab, "badin-a", "snap", "list", check=False).stdout
