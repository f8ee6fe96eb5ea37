"""plugin_utils/microk8s_upgrade.py: the channels each MicroK8s node passes on its way to the target, or why not."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.kaapana.platform.plugins.filter import microk8s as microk8s_filter
from ansible_collections.kaapana.platform.plugins.plugin_utils import microk8s_upgrade as mu

HEAD = "Name      Version  Rev   Tracking       Publisher    Notes\n"


def snap(version, tracking, rev="8205", notes="classic,held"):
    # `snap list microk8s` as snapd prints it (padding shortened)
    return HEAD + "microk8s  %s  %s  %s  canonical**  %s\n" % (version, rev, tracking, notes)


def test_parse_snap_list():
    assert mu.parse_snap_list(snap("v1.33.5", "1.33/stable")) == {
        "version": "v1.33.5", "revision": "8205", "tracking": "1.33/stable", "held": True, "local": False}
    assert mu.parse_snap_list(snap("v1.33.5", "1.33/stable", notes="classic"))["held"] is False
    assert mu.parse_snap_list(snap("v1.33.5", "-", rev="x1"))["local"] is True
    assert mu.parse_snap_list("error: no matching snaps installed\n") == {}
    assert mu.parse_snap_list("") == {}


def test_one_minor_at_a_time_every_node_each_step():
    plan = mu.upgrade_plan({"main": snap("v1.33.5", "1.33/stable"), "w1": snap("v1.33.5", "1.33/stable")},
                           "1.35/stable")
    assert plan["error"] == ""
    assert plan["steps"] == ["1.34/stable", "1.35/stable"]
    assert plan["nodes"] == {"main": ["1.34/stable", "1.35/stable"], "w1": ["1.34/stable", "1.35/stable"]}
    assert plan["reason"] == ("main: 1.33/stable (v1.33.5) -> 1.34/stable -> 1.35/stable; "
                              "w1: 1.33/stable (v1.33.5) -> 1.34/stable -> 1.35/stable")


def test_a_run_that_stopped_halfway_resumes():
    # main reached 1.34 before w1 failed: w1 catches up in step 1.34, then both go to 1.35
    plan = mu.upgrade_plan({"main": snap("v1.34.1", "1.34/stable"), "w1": snap("v1.33.5", "1.33/stable")},
                           "1.35/stable")
    assert plan["steps"] == ["1.34/stable", "1.35/stable"]
    assert plan["nodes"] == {"main": ["1.35/stable"], "w1": ["1.34/stable", "1.35/stable"]}
    assert "main: 1.34/stable (v1.34.1) -> 1.35/stable" in plan["reason"]


def test_nothing_to_do_when_every_node_tracks_the_target():
    plan = mu.upgrade_plan({"main": snap("v1.34.1", "1.34/stable"), "w1": snap("v1.34.1", "1.34/stable")},
                           "1.34/stable")
    assert (plan["error"], plan["steps"]) == ("", [])
    assert plan["nodes"] == {"main": [], "w1": []}
    assert plan["reason"] == "MicroK8s tracks 1.34/stable on every node: nothing to upgrade."


def test_same_minor_on_another_risk_is_one_refresh():
    plan = mu.upgrade_plan({"main": snap("v1.34.2", "1.34/candidate"), "w1": snap("v1.34.1", "1.34/stable")},
                           "1.34/stable")
    assert plan["steps"] == ["1.34/stable"]
    assert plan["nodes"] == {"main": ["1.34/stable"], "w1": []}
    assert "w1: 1.34/stable (v1.34.1), stays" in plan["reason"]


def test_strict_tracks_step_on_strict_tracks():
    plan = mu.upgrade_plan({"main": snap("v1.33.5", "1.33-strict/stable")}, "1.34-strict/stable")
    assert plan["steps"] == ["1.34-strict/stable"]


@pytest.mark.parametrize("target, nodes, words", [
    ("latest/stable", {"main": snap("v1.33.5", "1.33/stable")},
     ["'latest/stable' names no Kubernetes minor", "1.34/stable"]),
    ("1.34/stable/hotfix-1", {"main": snap("v1.33.5", "1.33/stable")}, ["names no Kubernetes minor"]),
    ("1.32/stable", {"main": snap("v1.33.5", "1.33/stable")},
     ["main runs v1.33.5, newer than 1.32/stable", "cannot be downgraded", "1.33/stable or later"]),
    ("2.0/stable", {"main": snap("v1.33.5", "1.33/stable")}, ["another major version"]),
    ("1.34/stable", {"main": snap("v1.33.5", "1.33-strict/stable")}, ["other confinement", "strict"]),
    ("1.34/stable", {"main": snap("v1.33.5", "-", rev="x1", notes="classic")},
     ["installed from a snap file", "site.yml"]),
    ("1.34/stable", {"main": "error: no matching snaps installed\n"}, ["not installed on main"]),
    ("1.34/stable", {}, ["no MicroK8s nodes"]),
    ("1.33/stable", {"main": snap("garbage", "1.33/stable")}, ["cannot read the Kubernetes version"]),
])
def test_refusals_name_the_reason_and_change_nothing(target, nodes, words):
    plan = mu.upgrade_plan(nodes, target)
    assert plan["steps"] == [] and plan["nodes"] == {}
    for word in words:
        assert word in plan["error"], plan["error"]
    assert plan["error"].endswith("Nothing was changed.")
    assert plan["reason"] == plan["error"]


def test_more_than_three_minors_in_one_run_is_refused_naming_the_channel_to_run_first():
    plan = mu.upgrade_plan({"main": snap("v1.31.13", "1.31/stable"), "w1": snap("v1.33.5", "1.33/stable")},
                           "1.35/stable")
    assert plan["error"] == (
        "MicroK8s goes one minor at a time and 1.35/stable is 4 minors ahead of MicroK8s 1.31 on main; one run "
        "takes at most 3. Set kaapana_microk8s_channel to 1.34/stable first, run this, then 1.35/stable. Nothing was "
        "changed.")
    assert mu.upgrade_plan({"main": snap("v1.32.9", "1.32/stable")}, "1.35/stable")["steps"] == [
        "1.33/stable", "1.34/stable", "1.35/stable"]


def test_filter_wraps_the_plan():
    filters = microk8s_filter.FilterModule().filters()
    plan = filters["microk8s_upgrade_plan"]({"main": snap("v1.33.5", "1.33/stable")}, "1.34/stable")
    assert plan["nodes"] == {"main": ["1.34/stable"]}
    with pytest.raises(AnsibleFilterError, match="expects a mapping"):
        filters["microk8s_upgrade_plan"](["main"], "1.34/stable")


def _node(status, version="v1.34.1", reason="", message=""):
    cond = {"type": "Ready", "status": status}
    if reason:
        cond.update(reason=reason, message=message)
    conditions = [{"type": "MemoryPressure", "status": "False"}, cond]
    return {"metadata": {"name": "main"}, "status": {"conditions": conditions, "nodeInfo": {"kubeletVersion": version}}}


def test_node_state():
    assert mu.node_state(_node("True")) == {"ready": True, "kubelet_version": "v1.34.1", "kubelet_minor": "1.34",
                                            "summary": "Ready=True, kubelet v1.34.1"}
    state = mu.node_state(_node("False", "v1.34.1", "KubeletNotReady", "cni plugin not initialized"))
    assert state == {"ready": False, "kubelet_version": "v1.34.1", "kubelet_minor": "1.34",
                     "summary": "Ready=False (KubeletNotReady: cni plugin not initialized), kubelet v1.34.1"}
    assert mu.node_state({})["summary"] == "not in the cluster"
    assert mu.node_state({"metadata": {}, "status": {}}) == {"ready": False, "kubelet_version": "", "kubelet_minor": "",
                                                             "summary": "without a Ready condition, kubelet unknown"}


def test_node_state_and_snap_list_filters():
    filters = microk8s_filter.FilterModule().filters()
    assert filters["microk8s_node_state"](_node("Unknown"))["summary"] == "Ready=Unknown, kubelet v1.34.1"
    with pytest.raises(AnsibleFilterError, match="expects a Node object"):
        filters["microk8s_node_state"]("main")
    assert filters["microk8s_snap_list"](snap("v1.34.1", "1.34/stable"))["tracking"] == "1.34/stable"


def test_a_node_whose_tracking_and_version_disagree_is_refused():
    # `snap switch` without a refresh: snap's refresh would see the channel as reached and skip the minor
    plan = mu.upgrade_plan({"main": snap("v1.33.5", "1.34/stable")}, "1.35/stable")
    assert "tracks 1.34/stable but runs v1.33.5" in plan["error"] and plan["steps"] == []
    assert "snap switch microk8s --channel=1.33/stable" in plan["error"]
    plan = mu.upgrade_plan({"main": snap("v1.33.5", "1.33-eksd/stable")}, "1.34/stable")
    assert "EKS-D" in plan["error"]


def test_node_state_minor():
    assert mu.node_state(_node("True", "v1.34.1"))["kubelet_minor"] == "1.34"
    assert mu.node_state({})["kubelet_minor"] == ""


def test_drain_leftovers():
    def pod(name, phase="Running", owner=None, mirror=False, deleting=False):
        meta = {"namespace": "ns", "name": name}
        if owner:
            meta["ownerReferences"] = [{"kind": owner, "name": "x"}]
        if mirror:
            meta["annotations"] = {"kubernetes.io/config.mirror": "x"}
        if deleting:
            meta["deletionTimestamp"] = "2026-12-05T10:00:00Z"
        return {"metadata": meta, "status": {"phase": phase}}

    pods = [pod("calico-node-x", owner="DaemonSet"), pod("done", "Succeeded", owner="Job"), pod("static", mirror=True),
            pod("db-0", owner="StatefulSet", deleting=True), pod("web", owner="ReplicaSet"), pod("failed", "Failed")]
    assert mu.drain_leftovers(pods) == ["ns/db-0", "ns/web"]
    filters = microk8s_filter.FilterModule().filters()
    assert filters["microk8s_drain_leftovers"]([]) == []
    with pytest.raises(AnsibleFilterError, match="expects the node's pods"):
        filters["microk8s_drain_leftovers"]({})
