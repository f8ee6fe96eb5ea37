# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Unit tests of the comparison and decisions in plugins/module_utils/helm_manager.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.kaapana.platform.plugins.module_utils import helm_chart, helm_errors, helm_manager, helm_output
from tests.unit.plugins.module_utils.helm_fixtures import CHART_FILES, release_json, write_chart_tgz


def _desired(tmp_path, files=None):
    return helm_chart.load_chart(write_chart_tgz(tmp_path / "demo.tgz", files))


def test_compare_equal(tmp_path):
    deployed = helm_output.parse_release(release_json(config={"a": {"b": 1}}))
    assert helm_manager.compare_release(_desired(tmp_path), {"a": {"b": 1.0}}, deployed) == []


def test_compare_values_change(tmp_path):
    deployed = helm_output.parse_release(release_json(config={"a": 1}))
    assert helm_manager.compare_release(_desired(tmp_path), {"a": 2}, deployed) == \
        ["values differ from the deployed user-supplied values"]
    # removing all user values is a change too
    assert helm_manager.compare_release(_desired(tmp_path), {}, deployed)


def test_compare_version_and_content(tmp_path):
    deployed = helm_output.parse_release(release_json())
    newer = dict(CHART_FILES, **{"Chart.yaml": b"name: demo\nversion: 0.2.0\nappVersion: \"1.0\"\n"})
    assert helm_manager.compare_release(_desired(tmp_path, newer), {}, deployed) == ["chart version: 0.1.0 -> 0.2.0"]
    edited = dict(CHART_FILES)
    edited["templates/new.yaml"] = b"kind: Secret\n"
    assert helm_manager.compare_release(_desired(tmp_path, edited), {}, deployed) == [
        "chart content (templates/files) differs at the same chart version"]
    defaults = dict(CHART_FILES, **{"values.yaml": b"replicas: 2\n"})
    assert helm_manager.compare_release(_desired(tmp_path, defaults), {}, deployed) == [
        "chart default values (values.yaml) differ at the same chart version"]


def test_compare_skips_default_values_of_charts_with_dependencies(tmp_path):
    # helm rewrites the stored default values of a chart with dependencies (import-values, subchart defaults)
    files = dict(CHART_FILES, **{"Chart.yaml": b"name: demo\nversion: 0.1.0\nappVersion: \"1.0\"\ndependencies:\n"
                                               b"  - name: sub\n    version: 0.1.0\n"})
    deployed = helm_output.parse_release(release_json(chart_values={"replicas": 1, "sub": {"x": 1}},
                                                      dependencies=[{"name": "sub", "version": "0.1.0"}]))
    assert helm_manager.compare_release(_desired(tmp_path, files), {}, deployed) == []


@pytest.mark.parametrize("status,changes,upgrade,atomic,expected", [
    (None, [], True, False, "install"),
    ("uninstalled", [], True, False, "install-replace"),
    ("pending-install", [], True, False, "reinstall"),
    ("uninstalling", [], True, False, "reinstall"),
    ("pending-upgrade", [], True, False, "rollback"),
    ("pending-rollback", [], False, False, "rollback"),
    ("failed", [], True, False, "upgrade"),
    ("failed", [], False, False, "upgrade"),
    ("failed", [], True, True, "rollback"),
    ("deployed", [], True, False, "none"),
    ("deployed", ["values"], True, False, "upgrade"),
    ("deployed", ["values"], False, False, "drift"),
])
def test_decide_present(status, changes, upgrade, atomic, expected):
    assert helm_manager.decide_present(status, changes, upgrade=upgrade, atomic=atomic) == expected


def test_decide_present_unknown_status():
    with pytest.raises(helm_errors.HelmError, match="status 'unknown'"):
        helm_manager.decide_present("unknown", [])


def test_decide_absent():
    assert helm_manager.decide_absent(None) == "none"
    assert helm_manager.decide_absent("uninstalled") == "none"
    for status in ("deployed", "failed", "pending-install", "pending-upgrade", "uninstalling"):
        assert helm_manager.decide_absent(status) == "uninstall"


def test_pick_rollback_revision():
    hist = [{"revision": 1, "status": "superseded"}, {"revision": 2, "status": "deployed"},
            {"revision": 3, "status": "failed"}, {"revision": 4, "status": "pending-upgrade"}]
    assert helm_manager.pick_rollback_revision(hist, 4) == 2
    assert helm_manager.pick_rollback_revision(hist[:1] + [{"revision": 2, "status": "pending-upgrade"}], 2) == 1
    assert helm_manager.pick_rollback_revision([{"revision": 1, "status": "pending-upgrade"}], 1) is None


def test_recovery_messages():
    assert "rolled back revision 4 to last deployed revision 2" in helm_manager.recovery_message("pending-upgrade", "rollback", 4, 2)
    assert "re-applied revision 1" in helm_manager.recovery_message("pending-upgrade", "rollback", 1, None)
    assert "uninstalled revision 1 and installed again" in helm_manager.recovery_message("pending-install", "reinstall", 1)
    assert helm_manager.recovery_message("deployed", "none") is None


def test_manifest_documents_normalizes():
    a = "---\n# Source: x\nkind: A   \n\n---\n# Source: y\nkind: B\n"
    b = "---\n# Source: x\nkind: A\n---\n# Source: y\nkind: B"
    assert helm_manager.manifest_documents(a) == helm_manager.manifest_documents(b)
    assert helm_manager.manifest_documents("") == ""
