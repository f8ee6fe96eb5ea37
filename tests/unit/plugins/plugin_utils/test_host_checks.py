# -*- coding: utf-8 -*-
"""The preflight's host checks (plugins/plugin_utils/host_checks.py): which facts fail, which warn, and that each
message names the host, the value, the variable that relaxes it and the fix."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.kaapana.platform.plugins.plugin_utils import host_checks
from ansible_collections.kaapana.platform.plugins.plugin_utils.host_checks import df_space, domain_findings, host_findings, mount_of, space_of

GIB = 1024 ** 3

MOUNTS = [
    {"mount": "/", "size_available": 500 * GIB},
    {"mount": "/var", "size_available": 30 * GIB},
    {"mount": "/var/snap/lxd/common/lxd/storage-pools/default", "size_available": 900 * GIB},
    {"mount": "/data", "size_available": 150 * GIB},
    {"mount": "/database", "size_available": 900 * GIB},
]

FACTS = {"mounts": MOUNTS, "memtotal_mb": 128 * 1024, "processor_vcpus": 16, "nodename": "kaapana.example.org"}

DEFAULTS = {"host": "main", "main": True, "snap_min_free_gib": 80, "data_dirs": [["/data/fast", "kaapana_fast_data_dir"],
                                                                                 ["/data/slow", "kaapana_slow_data_dir"]],
            "data_min_free_gib": 100, "memory_min_gib": 64, "memory_fail_gib": 16, "cores_min": 8, "cores_fail": 4,
            "hostname_lowercase": True, "inotify": {"fs.inotify.max_user_instances": [10000, "kaapana_sysctl"]},
            "inotify_min": 10000}


def findings(facts=None, **checks):
    return host_findings(dict(FACTS, **(facts or {})), dict(DEFAULTS, **checks))


@pytest.mark.parametrize("path, mount", [
    ("/var/snap", "/var"),
    ("/var", "/var"),
    ("/variable", "/"),
    ("/data/fast/not/there/yet", "/data"),
    ("/database/x", "/database"),
    ("/var/snap/lxd/common/lxd/storage-pools/default/x", "/var/snap/lxd/common/lxd/storage-pools/default"),
    ("data/relative", "/data"),
])
def test_mount_of_is_the_longest_parent_mount_point(path, mount):
    assert mount_of(path, MOUNTS)["mount"] == mount


def test_a_big_enough_host_passes():
    result = findings(data_dirs=[["/database/fast", "kaapana_fast_data_dir"], ["/data/slow", "kaapana_slow_data_dir"]],
                      facts={"mounts": [dict(m, size_available=900 * GIB) if m["mount"] == "/var" else m
                                        for m in MOUNTS]})
    assert result == {"errors": [], "warnings": []}


def test_var_snap_too_small_names_mount_free_space_and_variable():
    errors = findings(data_min_free_gib=0)["errors"]
    assert len(errors) == 1
    assert errors[0].startswith("/var/snap on main: 30.0 GiB free on the filesystem mounted at /var")
    assert "at least 80.0 GiB" in errors[0] and "kaapana_preflight_snap_min_free_gib" in errors[0]


def test_data_dirs_on_one_filesystem_add_up():
    errors = findings(snap_min_free_gib=0)["errors"]
    assert len(errors) == 1, errors
    assert "/data/fast (kaapana_fast_data_dir), /data/slow (kaapana_slow_data_dir)" in errors[0]
    assert "150.0 GiB free" in errors[0] and "at least 200.0 GiB" in errors[0] and "per directory" in errors[0]
    assert "kaapana_preflight_data_min_free_gib" in errors[0]


def test_one_data_dir_for_both_variables_counts_once():
    result = findings(snap_min_free_gib=0, data_dirs=[["/data/k", "kaapana_fast_data_dir"],
                                                      ["/data/k/", "kaapana_slow_data_dir"]])
    assert result["errors"] == []


def test_data_dirs_are_checked_on_the_main_node_only():
    assert findings(snap_min_free_gib=0, main=False)["errors"] == []


@pytest.mark.parametrize("memory_gib, cores, errors, warnings", [
    (128, 16, [], []),
    (48, 16, [], ["48.0 GiB of memory", "kaapana_preflight_memory_min_gib = 64"]),
    (12, 16, ["12.0 GiB of memory, far below", "kaapana_preflight_memory_fail_gib = 16"], []),
    (128, 6, [], ["6 CPU cores", "kaapana_preflight_cores_min = 8"]),
    (128, 2, ["2 CPU cores, far below", "kaapana_preflight_cores_fail = 4"], []),
])
def test_memory_and_cores_warn_below_the_minimum_and_fail_far_below(memory_gib, cores, errors, warnings):
    result = findings(facts={"memtotal_mb": memory_gib * 1024, "processor_vcpus": cores}, snap_min_free_gib=0,
                      data_min_free_gib=0)
    for expected, got in ((errors, result["errors"]), (warnings, result["warnings"])):
        joined = " ".join(got)
        assert bool(expected) == bool(got), got
        assert all(text in joined for text in expected), got


def test_memory_and_cores_are_not_checked_on_workers():
    result = findings(facts={"memtotal_mb": 1024, "processor_vcpus": 1}, main=False, snap_min_free_gib=0)
    assert result == {"errors": [], "warnings": []}


def test_zero_turns_each_check_off():
    small = {"mounts": [{"mount": "/", "size_available": GIB}], "memtotal_mb": 1024, "processor_vcpus": 1,
             "nodename": "Lab-Main"}
    result = host_findings(small, dict(DEFAULTS, snap_min_free_gib=0, data_min_free_gib=0, memory_min_gib=0,
                                       memory_fail_gib=0, cores_min=0, cores_fail=0, hostname_lowercase=False,
                                       inotify={"fs.inotify.max_user_instances": [128, "the running kernel"]},
                                       inotify_min=0))
    assert result == {"errors": [], "warnings": []}


def test_capital_letters_in_the_host_name_fail_with_the_lower_case_name():
    errors = findings(facts={"nodename": "Kaapana-Main.Example.org"}, snap_min_free_gib=0, data_min_free_gib=0)["errors"]
    assert len(errors) == 1
    assert "'Kaapana-Main.Example.org'" in errors[0] and "'kaapana-main.example.org'" in errors[0]
    assert "kaapana_preflight_hostname_lowercase: false" in errors[0]


def test_inotify_below_the_minimum_names_the_key_its_source_and_the_fix():
    errors = findings(snap_min_free_gib=0, data_min_free_gib=0,
                      inotify={"fs.inotify.max_user_instances": [8192, "kaapana_sysctl"],
                               "fs.inotify.max_user_watches": [524288, "kaapana_sysctl"]})["errors"]
    assert len(errors) == 1
    assert errors[0].startswith("fs.inotify.max_user_instances on main is 8192 (kaapana_sysctl), below the 10000")
    assert "kaapana_preflight_inotify_min" in errors[0]


def test_a_filesystem_without_size_is_not_judged():
    result = host_findings({"mounts": [{"mount": "/"}]}, dict(DEFAULTS, inotify={}))
    assert result["errors"] == []


GETENT = ["10.0.0.5        STREAM kaapana.example.org", "10.0.0.5        DGRAM", "10.0.0.5        RAW",
          "2001:db8::5     STREAM"]


@pytest.mark.parametrize("resolved, nodes, words", [
    (GETENT, ["10.0.0.5", "10.0.0.6"], []),
    (GETENT, ["2001:db8::5"], []),
    ([], ["10.0.0.5"], ["kaapana_domain kaapana.example.org does not resolve on main", "kaapana_preflight_domain_resolves"]),
    (GETENT, ["10.0.0.7"], ["resolves to 10.0.0.5, 2001:db8::5 on main", "(10.0.0.7)", "kaapana_preflight_domain_resolves"]),
])
def test_the_domain_must_resolve_to_a_node(resolved, nodes, words):
    errors = domain_findings("kaapana.example.org", resolved, nodes, "main")
    assert bool(errors) == bool(words), errors
    assert all(word in " ".join(errors) for word in words), errors


DF = ["File             Mounted on          Avail",
      "/var             /            21474836480",
      "/                /            21474836480",
      "/home            /home       536870912000",
      "/home/kaapana    /home       536870912000"]


def test_df_answers_for_the_nearest_existing_ancestor_and_wins_over_the_facts():
    df = df_space(DF)
    assert space_of("/var/snap", MOUNTS, df) == {"mount": "/", "size_available": 20 * GIB}
    assert space_of("/home/kaapana/fast", MOUNTS, df)["mount"] == "/home"
    # without df: the mount facts
    assert space_of("/var/snap", MOUNTS, {})["mount"] == "/var"


def test_a_root_the_mount_facts_leave_out_is_checked_through_df():
    """A container's overlay root (or a ZFS root) is not in ansible_facts.mounts: df still tells."""
    result = host_findings({"mounts": [], "nodename": "main"},
                           dict(DEFAULTS, df=DF, data_dirs=[["/home/kaapana", "kaapana_fast_data_dir"]], inotify={}))
    assert len(result["errors"]) == 1 and result["errors"][0].startswith("/var/snap on main: 20.0 GiB free on the "
                                                                         "filesystem mounted at /,")


HTTP_INFO = "http\n  ports: 80/tcp\n  protocols: \n  source-ports: \n"


def test_firewall_open_ports_adds_the_ports_of_the_zone_services():
    assert host_checks.firewall_open_ports("16443/tcp 30000-32767/tcp", [HTTP_INFO, "ssh\n  ports: 22/tcp\n"]) == [
        "16443/tcp", "30000-32767/tcp", "80/tcp", "22/tcp"]
    assert host_checks.firewall_open_ports("", []) == []


@pytest.mark.parametrize("wanted, opened, missing", [
    (["16443/tcp", "4789/udp"], ["16443/tcp", "4789/tcp"], ["4789/udp"]),
    (["30000-32767/tcp"], ["30000-32000/tcp"], ["30000-32767/tcp"]),
    (["31000-31005/tcp", "443/tcp"], ["30000-32767/tcp", "443/tcp"], []),
    (["80/tcp"], [], ["80/tcp"]),
], ids=["protocol-matters", "range-must-be-covered", "covered", "nothing-open"])
def test_firewall_missing(wanted, opened, missing):
    assert host_checks.firewall_missing(wanted, opened) == missing


def test_firewall_missing_names_a_bad_port():
    with pytest.raises(ValueError, match="'443' is not a firewalld port"):
        host_checks.firewall_missing(["443"], [])


def test_firewall_missing_ports_filter_reads_firewall_cmd_output():
    from ansible_collections.kaapana.platform.plugins.filter import microk8s as filters
    missing = filters.FilterModule().filters()["firewall_missing_ports"]
    assert missing(["80/tcp", "443/tcp", "16443/tcp"], "16443/tcp", [HTTP_INFO]) == ["443/tcp"]
