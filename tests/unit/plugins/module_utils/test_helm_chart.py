# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Unit tests of chart references and chart loading in plugins/module_utils/helm_chart.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.kaapana.platform.plugins.module_utils import helm_chart, helm_errors, helm_output
from tests.unit.plugins.module_utils.helm_fixtures import CHART_FILES, release_json, write_chart_dir, write_chart_tgz


def test_chart_source(tmp_path):
    assert helm_chart.chart_source("oci://h/c") == "oci"
    assert helm_chart.chart_source("https://x/c-1.tgz") == "url"
    assert helm_chart.chart_source(str(tmp_path)) == "local"
    assert helm_chart.chart_source("stable/c") == "repo"
    assert helm_chart.chart_source("c", repo_url="https://x") == "repo"
    with pytest.raises(helm_errors.HelmError, match="chart_ref .* not found"):
        helm_chart.chart_source("./missing-chart")
    with pytest.raises(helm_errors.HelmError, match="repo_url"):
        helm_chart.chart_source("c")
    with pytest.raises(helm_errors.HelmError, match="repo_url"):
        helm_chart.chart_source("oci://h/c", repo_url="https://x")


def test_helmignore_port():
    rules = helm_chart.HelmIgnore(["# comment", "*.bak", "/secret.txt", "docs/", "ci/*.yaml", ""])
    assert rules.ignore("a.bak", False) is True
    assert rules.ignore("sub/a.bak", False) is True  # no slash: basename match
    assert rules.ignore("secret.txt", False) is True
    assert rules.ignore("docs", True) is True
    assert rules.ignore("docs", False) is False  # trailing slash: directories only
    assert rules.ignore("ci/x.yaml", False) is True
    assert rules.ignore("ci/sub/x.yaml", False) is False  # '*' does not cross '/'
    assert rules.ignore("", True) is False
    # helm's negation is peculiar: a path that reaches a '!' rule without matching it is ignored
    negated = helm_chart.HelmIgnore(["!keep.txt"])
    assert negated.ignore("keep.txt", False) is False
    assert negated.ignore("other.txt", False) is True
    with pytest.raises(helm_errors.HelmError):
        helm_chart.HelmIgnore(["**/x"])
    classes = helm_chart.HelmIgnore(["[ab]*.txt", "[^x]?.md", "lit\\*"])
    assert classes.ignore("a1.txt", False) and classes.ignore("b.txt", False)
    assert not classes.ignore("c.txt", False)
    assert classes.ignore("y1.md", False) and not classes.ignore("x1.md", False)
    assert classes.ignore("lit*", False) and not classes.ignore("litx", False)


def test_load_chart_dir_and_tgz_agree(tmp_path):
    d = write_chart_dir(tmp_path / "demo", helmignore=b"*.bak\n")
    with open(os.path.join(d, "notes.bak"), "wb") as handle:
        handle.write(b"ignored")
    with open(os.path.join(d, "templates", ".hidden.yaml"), "wb") as handle:
        handle.write(b"ignored by helm's default rule")
    files = dict(CHART_FILES, **{".helmignore": b"*.bak\n"})
    tgz = write_chart_tgz(tmp_path / "demo-0.1.0.tgz", files)
    from_dir, from_tgz = helm_chart.load_chart(d), helm_chart.load_chart(tgz)
    assert from_dir["digest"] == from_tgz["digest"]
    assert (from_dir["name"], from_dir["version"], from_dir["app_version"]) == ("demo", "0.1.0", "1.0")
    assert from_dir["default_values"] == {"replicas": 1, "image": {"tag": "latest"}}
    assert from_dir["has_dependencies"] is False


def test_bom_is_stripped_like_helm(tmp_path):
    files = dict(CHART_FILES)
    files["templates/cm.yaml"] = helm_chart.UTF8_BOM + files["templates/cm.yaml"]
    assert helm_chart.load_chart(write_chart_tgz(tmp_path / "a.tgz", files))["digest"] == \
        helm_chart.load_chart(write_chart_tgz(tmp_path / "b.tgz"))["digest"]


def test_chart_errors(tmp_path):
    with pytest.raises(helm_errors.HelmError, match="Chart.yaml is missing"):
        helm_chart.chart_info_from_files({"values.yaml": b""})
    with pytest.raises(helm_errors.HelmError, match="name and version"):
        helm_chart.chart_info_from_files({"Chart.yaml": b"name: x\n"})
    bad = tmp_path / "bad.tgz"
    bad.write_bytes(b"not a tarball")
    with pytest.raises(helm_errors.HelmError, match="not a readable chart archive"):
        helm_chart.load_chart(str(bad))


def test_digest_of_release_matches_local_chart(tmp_path):
    local = helm_chart.load_chart(write_chart_tgz(tmp_path / "demo.tgz"))
    deployed = helm_output.parse_release(release_json())
    assert local["digest"] == deployed["digest"]
    changed = dict(CHART_FILES)
    changed["templates/cm.yaml"] += b"  labels: {a: b}\n"
    assert helm_output.parse_release(release_json(files=changed))["digest"] != local["digest"]
