import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kaapana.platform.plugins.filter import microk8s as f

STATUS_YAML = """microk8s:
  running: true
high-availability:
  enabled: false
  nodes:
  - address: 10.89.0.11:19001
    role: voter
addons:
- name: dns
  repository: core
  description: CoreDNS
  version: 1.12.1
  status: enabled
- name: hostpath-storage
  repository: core
  description: Storage class; allocates storage from host directory
  version: 1.0.0
  status: disabled
- name: rbac
  repository: core
  description: Role-Based Access Control for authorisation
  version: 1.0.0
  status: enabled
"""


def test_main_host_returns_the_single_host():
    assert f.main_host({"kaapana_main": ["m1"], "kaapana_workers": ["w1"]}) == "m1"


@pytest.mark.parametrize("hosts,count", [([], 0), (["a", "b"], 2)])
def test_main_host_rejects_none_or_two(hosts, count):
    with pytest.raises(AnsibleFilterError) as exc:
        f.main_host({"kaapana_main": hosts})
    assert "kaapana_main" in str(exc.value) and "contains %d" % count in str(exc.value)


def test_main_host_rejects_missing_group():
    with pytest.raises(AnsibleFilterError, match="exactly one host"):
        f.main_host({"all": ["a"]})


@pytest.mark.parametrize("channel,ok", [
    ("1.33/stable", True), ("1.33-strict/edge", True), ("latest/beta", True), ("1.33/stable/hotfix-1", True),
    ("1.33", False), ("stable", False), ("1.33/nightly", False), ("", False), (None, False), ("1.33/stable; rm", False),
    ("1.33/stable\n", False),
])
def test_channel_validation(channel, ok):
    assert f.microk8s_channel_valid(channel) is ok


def test_args_items_sorted_with_lines():
    items = f.microk8s_args_items({"kube-controller-manager": {"--terminated-pod-gc-threshold": 200},
                                   "kube-apiserver": {"--service-node-port-range": "80-32000", "--old": None,
                                                      "--flag-only": ""}})
    assert [(i["file"], i["flag"], i["line"]) for i in items] == [
        ("kube-apiserver", "--flag-only", "--flag-only"),
        ("kube-apiserver", "--old", None),
        ("kube-apiserver", "--service-node-port-range", "--service-node-port-range=80-32000"),
        ("kube-controller-manager", "--terminated-pod-gc-threshold", "--terminated-pod-gc-threshold=200"),
    ]


@pytest.mark.parametrize("bad,msg", [
    ({"../etc/passwd": {"--a": 1}}, "not a MicroK8s args file"),
    ({"kubelet": {"max-pods": 1}}, "must start with --"),
    (["kubelet"], "must be a mapping"),
])
def test_args_items_rejects_bad_input(bad, msg):
    with pytest.raises(AnsibleFilterError, match=msg):
        f.microk8s_args_items(bad)


def test_addon_status_and_to_enable():
    assert f.microk8s_addon_status(STATUS_YAML) == {"dns": "enabled", "hostpath-storage": "disabled",
                                                    "rbac": "enabled"}
    wanted = [{"name": "rbac"}, {"name": "dns", "args": ""}, {"name": "hostpath-storage"}, {"name": "nvidia"}]
    assert [a["name"] for a in f.microk8s_addons_to_enable(STATUS_YAML, wanted)] == ["hostpath-storage", "nvidia"]


def test_addon_status_rejects_garbage():
    with pytest.raises(AnsibleFilterError, match="could not parse"):
        f.microk8s_addon_status("addons: [unclosed")


@pytest.mark.parametrize("addon,argv", [
    # dns never gets the servers (MicroK8s splits dns:ARGS on every ':'); the role writes them to CoreDNS
    ({"name": "dns"}, ["microk8s", "enable", "dns"]),
    ({"name": "dns", "args": "1.1.1.1"}, ["microk8s", "enable", "dns:1.1.1.1"]),
    ({"name": "rbac"}, ["microk8s", "enable", "rbac"]),
    ({"name": "nvidia", "args": ["--gpu-operator-driver", "host"]},
     ["microk8s", "enable", "nvidia", "--gpu-operator-driver", "host"]),
])
def test_enable_argv(addon, argv):
    assert f.microk8s_enable_argv(addon) == argv


def test_enable_argv_with_binary_path():
    assert f.microk8s_enable_argv({"name": "rbac"}, binary="/snap/bin/microk8s") == ["/snap/bin/microk8s", "enable", "rbac"]


def test_resolv_nameservers_skips_stub_and_comments():
    text = "# generated\nnameserver 127.0.0.53\nnameserver 10.1.2.3 # office\nnameserver 10.1.2.3\n" \
           "search example.org\nnameserver 2001:db8::1\n"
    assert f.resolv_nameservers(text) == ["10.1.2.3", "2001:db8::1"]
    assert f.resolv_nameservers(text, skip_loopback=False)[0] == "127.0.0.53"


def test_microk8s_nodes_only_labelled():
    nodes = {"items": [
        {"metadata": {"name": "b", "labels": {"node.kubernetes.io/microk8s-worker": "microk8s-worker"}}},
        {"metadata": {"name": "a", "labels": {"node.kubernetes.io/microk8s-controlplane": "microk8s-controlplane"}}},
        {"metadata": {"name": "virtual", "labels": {"type": "virtual-kubelet"}}},
    ]}
    assert f.microk8s_nodes(json.dumps(nodes)) == ["a", "b"]
    assert f.microk8s_nodes(nodes, microk8s_only=False) == ["a", "b", "virtual"]


COREFILE = """.:53 {
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
      fallthrough in-addr.arpa ip6.arpa
    }
    forward . /etc/resolv.conf
    cache 30
}
"""


def test_coredns_forwarders_read_and_replace():
    assert f.coredns_forwarders(COREFILE) == ["/etc/resolv.conf"]
    new = f.coredns_set_forwarders(COREFILE, ["10.0.0.2", "10.0.0.3"])
    assert f.coredns_forwarders(new) == ["10.0.0.2", "10.0.0.3"]
    assert new.replace("forward . 10.0.0.2 10.0.0.3", "forward . /etc/resolv.conf") == COREFILE
    assert f.coredns_set_forwarders(COREFILE, []) == COREFILE


def test_coredns_forward_with_options_block_keeps_the_block():
    text = "forward . 8.8.8.8 {\n   max_concurrent 1000\n}\n"
    assert f.coredns_set_forwarders(text, ["1.1.1.1"]) == "forward . 1.1.1.1 {\n   max_concurrent 1000\n}\n"
    assert f.coredns_forwarders(text) == ["8.8.8.8"]


def test_coredns_without_forward_fails_clearly():
    with pytest.raises(AnsibleFilterError, match="no 'forward"):
        f.coredns_set_forwarders(".:53 {\n errors\n}\n", ["1.1.1.1"])


@pytest.mark.parametrize("value, port", [
    ("10.89.0.1", False), ("2001:db8::10", False), (["10.0.0.2", "1.1.1.1"], False), ([], False),
    (["10.0.0.2:53", "[2001:db8::53]:53", "8.8.8.8"], True), (" 10.0.0.2 ", False),
])
def test_ip_address_check_accepts(value, port):
    assert f.ip_address_check(value, "kaapana_x", port) is None


@pytest.mark.parametrize("value, port", [
    ("10.89.0.300", False), ("dns.example", False), (["10.0.0.2", "not-an-ip"], False), ("", False), (None, False),
    ("10.0.0.0/24", False), ("10.0.0.2:53", False), ("10.0.0.2:70000", True), ("[dns]:53", True), (True, False),
])
def test_ip_address_check_rejects_naming_the_variable_and_the_form(value, port):
    message = f.ip_address_check(value, "kaapana_microk8s_dns_servers", port)
    assert message.startswith("kaapana_microk8s_dns_servers: ")
    assert "is not an IP address such as 192.168.1.10" in message
    assert ("optionally with a port" in message) == port


def test_filter_module_exports_every_filter():
    assert set(f.FilterModule().filters()) == {
        "coredns_forwarders", "coredns_set_forwarders", "main_host", "ip_address_check", "microk8s_channel_valid",
        "microk8s_args_items", "microk8s_addon_status", "microk8s_addons_to_enable", "microk8s_enable_argv",
        "resolv_nameservers", "microk8s_nodes", "microk8s_node_name",
        "preflight_host_findings", "preflight_domain_findings", "firewall_missing_ports", "microk8s_images_prune",
        "microk8s_upgrade_plan", "microk8s_snap_list", "microk8s_node_state", "microk8s_drain_leftovers",
        "microk8s_images_keep_errors"}


@pytest.mark.parametrize("facts, name", [
    # MicroK8s: socket.gethostname().lower(); the hostname fact is only the first label of an FQDN.
    ({"nodename": "Lab-Main.Lab.Internal", "hostname": "Lab-Main"}, "lab-main.lab.internal"),
    ({"nodename": "kaapana01", "hostname": "kaapana01"}, "kaapana01"),
    ({"hostname": "Short"}, "short"),
    ({}, ""),
    (None, ""),
])
def test_microk8s_node_name_is_the_whole_host_name_in_lower_case(facts, name):
    assert f.FilterModule().filters()["microk8s_node_name"](facts) == name


def test_firewall_missing_ports_names_the_variables_of_a_bad_port():
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError, match="kaapana_firewall_node_ports / kaapana_firewall_client_ports"):
        f.FilterModule().filters()["firewall_missing_ports"](["http"], "", [])
