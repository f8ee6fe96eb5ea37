# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Unit tests for the storage filters (plugins/filter/storage.py): Kaapana's storage-class mapping,
quantity validation, Longhorn's replica-count rule and Kaapana's Longhorn disk tagging."""

import copy

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.kaapana.platform.plugins.filter import storage as F

HOSTPATH = {"slow": "kaapana-hostpath-slow-data-dir", "fast": "kaapana-hostpath-fast-data-dir",
            "workflow": "kaapana-hostpath-fast-data-dir", "provisioner": "microk8s.io/hostpath"}
LONGHORN = {"slow": "kaapana-longhorn-slow-data", "fast": "kaapana-longhorn-fast-db",
            "workflow": "kaapana-longhorn-fast-workflow", "provisioner": "driver.longhorn.io"}


def test_filter_module_maps_names():
    filters = F.FilterModule().filters()
    for name in ("storage_classes", "k8s_quantity", "longhorn_replica_count", "longhorn_disk_patch",
                 "longhorn_chart_source", "path_ancestors", "stat_fsid", "slow_volume_growth",
                 "k8s_quantity_at_least"):
        assert filters[name] is getattr(F, name)


@pytest.mark.parametrize("value, minimum, expected", [
    ("150Gi", "150Gi", True), ("1Ti", "1024Gi", True), ("161061273600", "150Gi", True), ("100Gi", "150Gi", False),
    ("", "150Gi", False), ("150Gi", "lots", False),
])
def test_a_quantity_at_least_another_compares_values(value, minimum, expected):
    assert F.k8s_quantity_at_least(value, minimum) is expected


# -- storage_classes ------------------------------------------------------------------------------
@pytest.mark.parametrize("provider", ["hostpath", "microk8s", "microk8s.io/hostpath", " HostPath ", "MICROK8S"])
def test_hostpath_aliases(provider):
    assert F.storage_classes(provider) == HOSTPATH


@pytest.mark.parametrize("provider", ["longhorn", "driver.longhorn.io", "Longhorn"])
def test_longhorn_aliases(provider):
    assert F.storage_classes(provider) == LONGHORN


@pytest.mark.parametrize("provider", ["nfs", "", None, "longhorn.io", "local-path", "hostpath-storage"])
def test_unknown_provider_names_the_variable_and_the_accepted_values(provider):
    with pytest.raises(AnsibleFilterError) as exc:
        F.storage_classes(provider)
    message = str(exc.value)
    assert "kaapana_storage_provider" in message
    assert "hostpath, microk8s, microk8s.io/hostpath, longhorn, driver.longhorn.io" in message


def test_overrides_replace_single_classes_for_mixed_storage():
    result = F.storage_classes("longhorn", {"slow": "kaapana-hostpath-slow-data-dir", "fast": "", "workflow": None})
    assert result == dict(LONGHORN, slow="kaapana-hostpath-slow-data-dir")
    assert F.storage_classes("hostpath", {}) == HOSTPATH
    assert F.storage_classes("hostpath", None) == HOSTPATH


def test_overrides_are_checked():
    with pytest.raises(AnsibleFilterError, match="kaapana_storage_class_fast"):
        F.storage_classes("longhorn", {"fast": "Fast_DB"})
    with pytest.raises(AnsibleFilterError, match="slow, fast and workflow"):
        F.storage_classes("longhorn", {"db": "x"})
    with pytest.raises(AnsibleFilterError, match="mapping"):
        F.storage_classes("longhorn", ["x"])


def test_result_is_a_fresh_dict():
    F.storage_classes("longhorn")["slow"] = "changed"
    assert F.storage_classes("longhorn") == LONGHORN


# -- k8s_quantity -------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    ("100Gi", "100Gi"), ("1Ti", "1Ti"), ("500M", "500M"), ("1.5Gi", "1.5Gi"), (" 10Gi ", "10Gi"),
    ("+20Gi", "20Gi"), ("1e12", "1e12"), ("2E", "2E"), ("1E7", "1E7"), ("1024Ki", "1024Ki"), ("1048576", "1048576"),
    (1073741824, "1073741824"), (".5Ti", ".5Ti"), ("3000k", "3000k"), ("1Mi", "1Mi"),
])
def test_quantities_accepted(value, expected):
    assert F.k8s_quantity(value, "kaapana_volume_slow_data") == expected


@pytest.mark.parametrize("value", ["100GB", "-1Gi", "", "Gi", "100 Gi", "1,5Gi", "100gi", "1.2.3Gi", "0", "0Gi",
                                   "0.0Ti", None, True, [], "10Zi", "1e", "ten"])
def test_quantities_rejected_with_variable_and_form(value):
    with pytest.raises(AnsibleFilterError) as exc:
        F.k8s_quantity(value, "kaapana_volume_slow_data")
    message = str(exc.value)
    assert "kaapana_volume_slow_data" in message
    assert "100Gi" in message


@pytest.mark.parametrize("value", ["512Ki", "1000", "3k", "1E3", "1M", "1048575", 1000, "0.5Mi"])
def test_quantities_below_1mi_rejected(value):
    with pytest.raises(AnsibleFilterError, match="kaapana_volume_slow_data: .* is less than 1Mi"):
        F.k8s_quantity(value, "kaapana_volume_slow_data")


def test_quantity_hints():
    with pytest.raises(AnsibleFilterError, match="Did you mean 100G"):
        F.k8s_quantity("100GB", "v")
    with pytest.raises(AnsibleFilterError, match="Did you mean 100Gi"):
        F.k8s_quantity("100gib", "v")
    with pytest.raises(AnsibleFilterError, match="thousandths"):
        F.k8s_quantity("500m", "v")


# -- longhorn_replica_count ----------------------------------------------------------------------------
def lh_node(name, schedulable=True, disks=None):
    return {"apiVersion": "longhorn.io/v1beta2", "kind": "Node", "metadata": {"name": name, "namespace": "longhorn-system"},
            "spec": {"name": name, "allowScheduling": schedulable, "disks": disks if disks is not None else {}}}


@pytest.mark.parametrize("nodes, expected", [
    ([], 1),
    ([lh_node("a")], 1),
    ([lh_node("a"), lh_node("b")], 2),
    ([lh_node("a"), lh_node("b"), lh_node("c")], 2),
    ([lh_node("a"), lh_node("b", False)], 1),
    ([lh_node("a", "true"), lh_node("b")], 1),  # the CRD field is a boolean; Kaapana's jsonpath compares with true
    ({"resources": [lh_node("a"), lh_node("b")]}, 2),
    ({"items": [lh_node("a")]}, 1),
    (None, 1),
])
def test_replica_count_rule(nodes, expected):
    assert F.longhorn_replica_count(nodes) == expected


def test_replica_count_rejects_garbage():
    with pytest.raises(AnsibleFilterError):
        F.longhorn_replica_count("two")


# -- longhorn_disk_patch --------------------------------------------------------------------------------
DEFAULT = {"path": "/var/lib/longhorn/", "allowScheduling": True, "evictionRequested": False,
           "storageReserved": 0, "tags": []}


def main_node(**disks):
    return lh_node("main", disks=disks or {"default-disk-fd01": copy.deepcopy(DEFAULT)})


def kaapana(fast_fsid, slow_fsid, fast="/home/kaapana", slow="/home/kaapana"):
    return [{"path": fast, "tags": ["fast-data"], "fsid": fast_fsid},
            {"path": slow, "tags": ["slow-data"], "fsid": slow_fsid}]


def apply(node, patch):
    """What `kubectl patch --type merge -p {"spec": {"disks": patch}}` makes of the node."""
    node = copy.deepcopy(node)
    disks = node["spec"].setdefault("disks", {})
    for name, fields in patch.items():
        disks.setdefault(name, {}).update(copy.deepcopy(fields))
    return node


def test_both_dirs_on_the_default_disk_file_system():
    assert F.longhorn_disk_patch(main_node(), kaapana("fd01", "fd01")) == {
        "default-disk-fd01": {"tags": ["fast-data", "slow-data"]}}


def test_fast_on_default_slow_elsewhere():
    patch = F.longhorn_disk_patch(main_node(), kaapana("fd01", "5e5e", slow="/mnt/hdd/kaapana"))
    assert patch == {"default-disk-fd01": {"tags": ["fast-data"]},
                     "slow-data": {"path": "/mnt/hdd/kaapana", "allowScheduling": True, "tags": ["slow-data"]}}


def test_fast_elsewhere_slow_on_default():
    patch = F.longhorn_disk_patch(main_node(), kaapana("55d0", "fd01", fast="/mnt/ssd/kaapana"))
    assert patch == {"fast-data": {"path": "/mnt/ssd/kaapana", "allowScheduling": True, "tags": ["fast-data"]},
                     "default-disk-fd01": {"tags": ["slow-data"]}}


def test_slow_shares_the_fast_disk_when_both_are_on_another_file_system():
    patch = F.longhorn_disk_patch(main_node(), kaapana("55d0", "55d0", fast="/data/fast", slow="/data/slow"))
    assert patch == {"fast-data": {"path": "/data/fast", "allowScheduling": True, "tags": ["fast-data", "slow-data"]}}


def test_three_file_systems():
    patch = F.longhorn_disk_patch(main_node(), kaapana("55d0", "5e5e", fast="/ssd/k", slow="/hdd/k"))
    assert patch == {"fast-data": {"path": "/ssd/k", "allowScheduling": True, "tags": ["fast-data"]},
                     "slow-data": {"path": "/hdd/k", "allowScheduling": True, "tags": ["slow-data"]}}


@pytest.mark.parametrize("fast_fsid, slow_fsid, fast, slow", [
    ("fd01", "fd01", "/home/kaapana", "/home/kaapana"),
    ("fd01", "5e5e", "/home/kaapana", "/mnt/hdd/kaapana"),
    ("55d0", "fd01", "/mnt/ssd/kaapana", "/home/kaapana"),
    ("55d0", "55d0", "/data/fast", "/data/slow"),
    ("55d0", "5e5e", "/ssd/k", "/hdd/k"),
    (None, None, "/home/kaapana", "/home/kaapana"),
])
def test_second_run_changes_nothing(fast_fsid, slow_fsid, fast, slow):
    dirs = kaapana(fast_fsid, slow_fsid, fast=fast, slow=slow)
    node = apply(main_node(), F.longhorn_disk_patch(main_node(), dirs))
    assert F.longhorn_disk_patch(node, dirs) == {}


def test_existing_tags_are_kept_and_not_repeated():
    node = main_node(**{"default-disk-fd01": dict(DEFAULT, tags=["ssd", "fast-data"])})
    assert F.longhorn_disk_patch(node, kaapana("fd01", "fd01")) == {
        "default-disk-fd01": {"tags": ["ssd", "fast-data", "slow-data"]}}


def test_a_disk_with_the_same_path_is_reused():
    node = main_node(**{"default-disk-fd01": copy.deepcopy(DEFAULT),
                        "disk-1": {"path": "/mnt/ssd/kaapana/", "allowScheduling": True, "tags": ["nvme"]}})
    patch = F.longhorn_disk_patch(node, kaapana("55d0", "fd01", fast="/mnt/ssd/kaapana"))
    assert patch == {"disk-1": {"tags": ["nvme", "fast-data"]}, "default-disk-fd01": {"tags": ["slow-data"]}}


def test_default_disk_path_itself():
    patch = F.longhorn_disk_patch(main_node(), [{"path": "/var/lib/longhorn", "tags": "fast-data", "fsid": None}])
    assert patch == {"default-disk-fd01": {"tags": ["fast-data"]}}


def test_unknown_fsid_adds_a_disk_per_path_and_a_shared_path_shares_the_disk():
    patch = F.longhorn_disk_patch(main_node(), kaapana(None, None))
    assert patch == {"fast-data": {"path": "/home/kaapana", "allowScheduling": True,
                                   "tags": ["fast-data", "slow-data"]}}


def test_no_default_disk_on_the_node():
    node = lh_node("main", disks={})
    patch = F.longhorn_disk_patch(node, kaapana("fd01", "fd01"))
    assert patch == {"fast-data": {"path": "/home/kaapana", "allowScheduling": True,
                                   "tags": ["fast-data", "slow-data"]}}


def test_node_without_spec_disks_and_custom_names():
    patch = F.longhorn_disk_patch({"metadata": {"name": "x"}, "spec": {}},
                                  [{"path": "/d", "tags": ["t1", "t2"], "fsid": "1", "name": "data"}])
    assert patch == {"data": {"path": "/d", "allowScheduling": True, "tags": ["t1", "t2"]}}


def test_name_clash_with_another_path_fails():
    node = main_node(**{"default-disk-fd01": copy.deepcopy(DEFAULT),
                        "fast-data": {"path": "/old/fast", "allowScheduling": True, "tags": ["fast-data"]}})
    with pytest.raises(AnsibleFilterError, match="already has a disk 'fast-data'"):
        F.longhorn_disk_patch(node, kaapana("55d0", "55d0", fast="/new/fast", slow="/new/fast"))


@pytest.mark.parametrize("node, disks, match", [
    ("node", [], "nodes.longhorn.io object"),
    ({"spec": {"disks": []}}, [], "not a mapping"),
    (lh_node("m"), "x", "list"),
    (lh_node("m"), [{"tags": ["a"]}], "with a path"),
    (lh_node("m"), [{"path": "rel/dir", "tags": ["a"]}], "absolute"),
    (lh_node("m"), [{"path": "/d", "tags": []}], "no tags"),
    (lh_node("m"), [{"path": "/d", "tags": [1]}], "tags"),
])
def test_disk_patch_input_errors(node, disks, match):
    with pytest.raises(AnsibleFilterError, match=match):
        F.longhorn_disk_patch(node, disks)


def test_input_is_not_modified():
    node = main_node()
    before = copy.deepcopy(node)
    F.longhorn_disk_patch(node, kaapana("fd01", "fd01"))
    assert node == before


# -- path_ancestors / stat_fsid ----------------------------------------------------------------------------
def test_path_ancestors():
    assert F.path_ancestors("/home/kaapana/") == ["/home/kaapana", "/home", "/"]
    assert F.path_ancestors("/") == ["/"]
    assert F.path_ancestors("/a//b/../c") == ["/a/c", "/a", "/"]
    with pytest.raises(AnsibleFilterError):
        F.path_ancestors("home")


def test_stat_fsid_uses_the_nearest_existing_parent():
    out = "fd01 /home\nfd01 /\n"
    assert F.stat_fsid(out, "/home/kaapana") == "fd01"
    out = "55d0 /mnt/ssd/kaapana\nfd01 /mnt/ssd\nfd01 /mnt\nfd01 /\n"
    assert F.stat_fsid(out, "/mnt/ssd/kaapana") == "55d0"
    assert F.stat_fsid("fd01 /dir with space\n", "/dir with space/x") == "fd01"
    assert F.stat_fsid("", "/home") is None
    assert F.stat_fsid(None, "/home") is None


# -- longhorn_chart_source ------------------------------------------------------------------------------------
@pytest.mark.parametrize("ref, url, expected", [
    ("longhorn/longhorn", "https://charts.longhorn.io",
     {"kind": "repo", "chart_ref": "longhorn", "repo_url": "https://charts.longhorn.io"}),
    ("longhorn", "https://charts.longhorn.io",
     {"kind": "repo", "chart_ref": "longhorn", "repo_url": "https://charts.longhorn.io"}),
    ("longhorn/longhorn", "", {"kind": "repo", "chart_ref": "longhorn/longhorn", "repo_url": ""}),
    ("oci://10.89.0.1:5000/charts/longhorn", "https://charts.longhorn.io",
     {"kind": "oci", "chart_ref": "oci://10.89.0.1:5000/charts/longhorn", "repo_url": ""}),
    ("/srv/offline/longhorn-1.10.1.tgz", "https://charts.longhorn.io",
     {"kind": "local", "chart_ref": "/srv/offline/longhorn-1.10.1.tgz", "repo_url": ""}),
    ("files/longhorn-1.10.1.tgz", "", {"kind": "local", "chart_ref": "files/longhorn-1.10.1.tgz", "repo_url": ""}),
    ("https://github.com/longhorn/charts/releases/download/longhorn-1.10.1/longhorn-1.10.1.tgz", "",
     {"kind": "url", "chart_ref": "https://github.com/longhorn/charts/releases/download/longhorn-1.10.1/"
                                  "longhorn-1.10.1.tgz", "repo_url": ""}),
])
def test_chart_sources(ref, url, expected):
    assert F.longhorn_chart_source(ref, url) == expected


@pytest.mark.parametrize("ref, url", [
    ("", "https://charts.longhorn.io"), ("longhorn", ""), ("oci://", ""), ("oci://reg/Charts/x y", ""),
    ("https://charts.longhorn.io", ""), ("a/b/c", "https://charts.longhorn.io"), ("my chart.tgz", ""),
    ("ftp://x/longhorn.tgz", ""), (None, ""),
])
def test_bad_chart_sources_name_the_variable(ref, url):
    with pytest.raises(AnsibleFilterError) as exc:
        F.longhorn_chart_source(ref, url)
    assert "kaapana_longhorn_chart_ref" in str(exc.value)
    assert "oci://host[:port]/path/chart" in str(exc.value)


def test_bad_repo_url():
    with pytest.raises(AnsibleFilterError, match="kaapana_longhorn_repo_url"):
        F.longhorn_chart_source("longhorn/longhorn", "charts.longhorn.io")
