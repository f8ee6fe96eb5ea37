# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""The plan of a MicroK8s upgrade (playbooks/upgrade_microk8s.yml): which snap channels each node passes on its
way to kaapana_microk8s_channel, or why the upgrade is refused. Controller-side only; pure functions over what
`snap list microk8s` prints on each node.

MicroK8s follows Kubernetes: its nodes may not skip a minor version ("upgrade one minor version at a time",
microk8s.io/docs/upgrade-cluster), and Kubernetes has no downgrade. So the plan is a list of steps, one per minor
(1.33 -> 1.34 -> 1.35, each on the target's risk level); in each step every node that is still older refreshes, one
node at a time. A node that is already further (a run that stopped halfway) skips the steps it has passed, so a
second run resumes where the first stopped, and a run with nothing left to do changes nothing.

Refused, before any change: a target without a Kubernetes version in its track (latest/stable follows new minors by
itself, which is exactly what a held, planned upgrade avoids), a branch (hotfix branches close), a strict track for a
classic install or the other way round (a different snap confinement: a reinstall, not a refresh), a node that is
newer than the target (a downgrade), another major version, a MicroK8s installed from a snap file (it follows no
channel: install the next snap file with site.yml), and more than MAX_STEPS minors in one run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# MicroK8s publishes about three minors a year; three steps per run keeps one run to a sane length.
MAX_STEPS = 3
_TRACK = re.compile(r"^(?P<major>[0-9]+)\.(?P<minor>[0-9]+)(?P<strict>-strict)?/"
                    r"(?P<risk>stable|candidate|beta|edge)$")
_VERSION = re.compile(r"^v?(?P<major>[0-9]+)\.(?P<minor>[0-9]+)(?:\.[0-9]+)?")


def parse_snap_list(stdout):
    """{'version': 'v1.33.5', 'revision': '8205', 'tracking': '1.33/stable', 'held': True} from
    `snap list microk8s` (Name Version Rev Tracking Publisher Notes), or {} when microk8s is not listed."""
    for line in str(stdout or "").splitlines():
        cells = line.split()
        if len(cells) >= 4 and cells[0] == "microk8s":
            notes = cells[5] if len(cells) > 5 else ""
            return {"version": cells[1], "revision": cells[2], "tracking": cells[3],
                    "held": "held" in notes.split(","), "local": cells[3] == "-"}
    return {}


def _channel(minor, major, strict, risk):
    return "%s.%s%s/%s" % (major, minor, "-strict" if strict else "", risk)


def upgrade_plan(nodes, target, max_steps=MAX_STEPS):
    """nodes: {host: `snap list microk8s` stdout}; target: kaapana_microk8s_channel.

    Returns {'target', 'steps': [channel, ...], 'nodes': {host: [channel, ...]}, 'current': {host: text},
    'error': '' or the reason, 'reason': a one-line summary}. steps lists every channel some node refreshes to,
    in order; nodes[host] the ones that host refreshes to (a subsequence of steps)."""
    target = str(target or "")
    plan = {"target": target, "steps": [], "nodes": {}, "current": {}, "error": "", "reason": ""}

    def refuse(text):
        plan["error"] = text + " Nothing was changed."
        plan["reason"] = plan["error"]
        return plan

    wanted = _TRACK.match(target)
    if not wanted:
        return refuse(
            "kaapana_microk8s_channel %r names no Kubernetes minor version: an upgrade goes one minor at a time "
            "and needs a channel such as 1.34/stable (latest/* follows new minors by itself, branches close)."
            % target)
    major, minor = int(wanted.group("major")), int(wanted.group("minor"))
    strict, risk = bool(wanted.group("strict")), wanted.group("risk")
    installed = {}
    for host in sorted(nodes):
        snap = parse_snap_list(nodes[host])
        if not snap:
            return refuse("MicroK8s is not installed on %s: install it with site.yml first." % host)
        if snap["local"]:
            return refuse(
                "MicroK8s on %s was installed from a snap file (kaapana_microk8s_offline_snap) and follows no "
                "channel: install the next version's snap file with site.yml instead." % host)
        version = _VERSION.match(snap["version"])
        if not version:
            return refuse("cannot read the Kubernetes version of MicroK8s on %s from %r." % (host, snap["version"]))
        if int(version.group("major")) != major:
            return refuse("MicroK8s on %s runs Kubernetes %s; %s is another major version, which MicroK8s cannot "
                          "refresh to." % (host, snap["version"], target))
        track = snap["tracking"].split("/")[0]
        if track.endswith("-eksd"):
            return refuse("MicroK8s on %s tracks %s, the EKS-D flavour, which this playbook does not upgrade."
                          % (host, snap["tracking"]))
        tracked = _TRACK.match(snap["tracking"].split("/")[0] + "/stable")
        if tracked and int(tracked.group("minor")) != int(version.group("minor")):
            return refuse(
                "MicroK8s on %s tracks %s but runs %s (a channel switch without a refresh, or a refresh that did not "
                "finish): run `snap refresh microk8s --channel=%s` or `snap switch microk8s --channel=%s` on it so "
                "that both agree, then run again." % (host, snap["tracking"], snap["version"], snap["tracking"],
                                                      "%s.%s/%s" % (version.group("major"), version.group("minor"),
                                                                    snap["tracking"].split("/")[1])))
        if track.endswith("-strict") != strict:
            return refuse(
                "MicroK8s on %s tracks %s and %s is the other confinement (strict and classic MicroK8s are different "
                "installs): keep the %s form of the track." % (host, snap["tracking"], target,
                                                               "strict" if not strict else "classic"))
        if int(version.group("minor")) > minor:
            return refuse(
                "MicroK8s on %s runs %s, newer than %s: Kubernetes cannot be downgraded. Set "
                "kaapana_microk8s_channel to %s or later." % (host, snap["version"], target,
                                                              _channel(version.group("minor"), major, strict, risk)))
        installed[host] = (int(version.group("minor")), snap["tracking"])
        plan["current"][host] = "%s (%s)" % (snap["tracking"], snap["version"])
    if not installed:
        return refuse("no MicroK8s nodes in the inventory (kaapana_main, kaapana_workers).")
    lowest = min(m for m, _t in installed.values())
    if minor - lowest > max_steps:
        return refuse(
            "MicroK8s goes one minor at a time and %s is %d minors ahead of MicroK8s %d.%d on %s; one run takes at "
            "most %d. Set kaapana_microk8s_channel to %s first, run this, then %s." % (
                target, minor - lowest, major, lowest,
                ", ".join(sorted(h for h, (m, _t) in installed.items() if m == lowest)), max_steps,
                _channel(lowest + max_steps, major, strict, risk), target))
    # the last step is the target itself; all nodes at its minor already: one step to the target's risk level
    steps = [_channel(m, major, strict, risk) for m in range(lowest + 1, minor + 1)] or [target]
    for host, (node_minor, tracking) in installed.items():
        path = [c for c in steps if int(_TRACK.match(c).group("minor")) > node_minor]
        if node_minor == minor and tracking != target:
            path = [target]  # the same minor on another risk level: one refresh
        plan["nodes"][host] = path
    plan["steps"] = [c for c in steps if any(c in path for path in plan["nodes"].values())]
    if not plan["steps"]:
        plan["reason"] = "MicroK8s tracks %s on every node: nothing to upgrade." % target
    else:
        plan["reason"] = "; ".join(
            "%s: %s" % (host, " -> ".join([plan["current"][host]] + path) if path else "%s, stays" % plan["current"][host])
            for host, path in sorted(plan["nodes"].items()))
    return plan


def node_state(node):
    """{'ready': bool, 'kubelet_version': str, 'summary': text} of a Node object (k8s_info resources[0]): what the
    upgrade waits for after a refresh, and what it reports when the Node never gets there."""
    status = (node or {}).get("status") or {}
    ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    version = (status.get("nodeInfo") or {}).get("kubeletVersion") or ""
    if not node:
        summary = "not in the cluster"
    elif not ready:
        summary = "without a Ready condition, kubelet %s" % (version or "unknown")
    else:
        cond = ready[0]
        summary = "Ready=%s%s, kubelet %s" % (
            cond.get("status"), " (%s)" % ": ".join(x for x in (cond.get("reason"), cond.get("message")) if x)
            if cond.get("status") != "True" and (cond.get("reason") or cond.get("message")) else "", version or "unknown")
    minor = _VERSION.match(version)
    return {"ready": bool(ready) and ready[0].get("status") == "True", "kubelet_version": version,
            "kubelet_minor": "%s.%s" % (minor.group("major"), minor.group("minor")) if minor else "",
            "summary": summary}


def drain_leftovers(pods):
    """'namespace/name' of the pods a drained node still runs: not finished, not DaemonSet-owned, not mirror pods.
    kubernetes.core.k8s_drain only warns when its wait times out; a refresh must not start under them."""
    left = []
    for pod in pods or []:
        meta = pod.get("metadata") or {}
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        if "kubernetes.io/config.mirror" in (meta.get("annotations") or {}):
            continue
        if any(ref.get("kind") == "DaemonSet" for ref in meta.get("ownerReferences") or []):
            continue
        left.append("%s/%s" % (meta.get("namespace"), meta.get("name")))
    return sorted(left)
