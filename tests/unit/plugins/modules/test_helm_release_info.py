# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Module-level tests of helm_release_info with a scripted helm."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.kaapana.platform.plugins.modules import helm_release_info


LIST = ["list", "--deployed", "--failed", "--pending", "--superseded", "--uninstalled", "--uninstalling"]


def listing(*items):
    return json.dumps([{"name": n, "namespace": ns, "revision": str(rev), "updated": upd, "status": st,
                        "chart": chart, "app_version": "0.6.0"} for n, ns, rev, upd, st, chart in items])


ADMIN = listing(
    ("kaapana-platform-chart", "admin", 2, "2026-01-01T10:00:00.000000Z", "deployed", "kaapana-platform-chart-0.6.0"),
    ("code-server-chart", "admin", 1, "2026-01-01T10:05:00.000000Z", "pending-install", "code-server-chart-0.6.0"),
)
DEFAULT = listing(
    ("kaapana-admin-chart", "default", 3, "2026-01-01T09:00:00.000000Z", "uninstalling", "kaapana-admin-chart-0.6.0"),
)


def test_lists_namespaces_newest_first(run_helm_module):
    res, helm, _out = run_helm_module(helm_release_info.main, {"namespaces": ["admin", "default"], "name": "^(kaapana|code)"}, [
        (LIST, 0, ADMIN, ""),
        (LIST, 0, DEFAULT, ""),
    ])
    assert res["changed"] is False
    assert [r["name"] for r in res["releases"]] == ["code-server-chart", "kaapana-platform-chart", "kaapana-admin-chart"]
    first = res["releases"][0]
    assert first == {"name": "code-server-chart", "namespace": "admin", "revision": 1, "status": "pending-install",
                     "chart": "code-server-chart", "chart_version": "0.6.0", "app_version": "0.6.0",
                     "updated": "2026-01-01T10:05:00+00:00"}
    argv = helm.calls[0]["argv"]
    assert argv[argv.index("--namespace") + 1] == "admin" and argv[argv.index("--filter") + 1] == "^(kaapana|code)"
    # helm version once, then one list per namespace; Helm 4 has no --all, both majors get every state flag
    assert len(res["commands"]) == 3 and res["commands"][0] == "/usr/bin/helm version --template '{{.Version}}'"
    assert (res["helm_major"], res["helm_version"]) == {3: (3, "v3.21.4"), 4: (4, "v4.3.2")}[run_helm_module.major]
    assert "--all" not in helm.calls[0]["argv"]


def test_all_namespaces_and_states(run_helm_module):
    res, helm, _out = run_helm_module(helm_release_info.main, {"states": ["uninstalling", "pending-install"]}, [
        (LIST, 0, ADMIN[:-1] + ", " + DEFAULT[1:], ""),
    ])
    assert "--all-namespaces" in helm.calls[0]["argv"]
    assert [r["status"] for r in res["releases"]] == ["pending-install", "uninstalling"]


def test_empty_and_errors(run_helm_module):
    res, _helm, _out = run_helm_module(helm_release_info.main, {}, [(["list"], 0, "[]\n", "")])
    assert res["releases"] == []
    res, _helm, _out = run_helm_module(helm_release_info.main, {"namespaces": ["Bad"]}, [])
    assert res["failed"] and res["msg"].startswith("namespaces: namespace 'Bad' is invalid")
    res, _helm, _out = run_helm_module(helm_release_info.main, {}, [
        (["list"], 1, "", "Error: Kubernetes cluster unreachable: dial tcp 10.89.0.1:6443: connect: connection refused")])
    assert res["failed"] and "Kubernetes is unreachable" in res["msg"]
