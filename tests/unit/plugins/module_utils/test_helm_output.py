# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Unit tests of parsing helm's output in plugins/module_utils/helm_output.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.kaapana.platform.plugins.module_utils import helm_errors, helm_output
from tests.unit.plugins.module_utils.helm_fixtures import (
    FIXTURES,
    major_params,
    real_output,
    release_json,
    release_template,
)


@pytest.mark.parametrize("chart,expected", [
    ("kaapana-admin-chart-0.6.0", ("kaapana-admin-chart", "0.6.0")),
    ("kaapana-admin-chart-0.6.0-rc.1", ("kaapana-admin-chart", "0.6.0-rc.1")),
    ("my-chart-2-0.1.0", ("my-chart-2", "0.1.0")),
    ("longhorn-v1.10.1", ("longhorn", "v1.10.1")),
    ("weird", ("weird", "")),
    ("", ("", "")),
])
def test_split_chart_string(chart, expected):
    assert helm_output.split_chart_string(chart) == expected


def test_parse_release_from_status_json():
    rel = helm_output.parse_release(release_json(config={"a": 1}, status="pending-upgrade", version=4))
    assert rel["status"] == "pending-upgrade" and rel["revision"] == 4
    assert (rel["chart"], rel["chart_version"], rel["app_version"]) == ("demo", "0.1.0", "1.0")
    assert rel["config"] == {"a": 1}
    assert rel["manifest"].startswith("---")
    assert helm_output.parse_release("") is None


def test_parse_release_tolerates_leading_noise():
    text = "WARNING: Kubernetes configuration file is group-readable\n" + release_json()
    assert helm_output.parse_release(text)["chart"] == "demo"
    with pytest.raises(helm_errors.HelmError, match="cannot parse helm JSON"):
        helm_output.parse_release("garbage")


def test_release_template_encoder_matches_parse_release():
    text = release_json(config={"a": {"b": [1, 1.5, None, True, "x\ny"]}}, status="failed", version=3)
    from_json, from_template = helm_output.parse_release(text), helm_output.parse_release_template(release_template(text))
    for key in ("name", "namespace", "revision", "status", "chart", "chart_version", "app_version", "config",
                "chart_values", "digest", "manifest", "has_dependencies"):
        assert from_json[key] == from_template[key], key


def test_parse_release_template_from_real_helm():
    """Captured from helm v3.21.4 (lab): `helm get all --template` of a `helm create` chart with tricky values."""
    with open(os.path.join(FIXTURES, "get_all_template.txt")) as handle:
        rel = helm_output.parse_release_template(handle.read())
    with open(os.path.join(FIXTURES, "get_values.json")) as handle:
        assert rel["config"] == helm_output.parse_values(handle.read())
    assert rel["config"]["unicode"] == u"\u00fc\u20ac\U0001f600"
    assert rel["config"]["s"] == "line1\nline2 \"quoted\" 'single' \\ back"
    assert rel["config"]["big"] == 10 ** 21 and rel["config"]["z"] is None and rel["config"]["l"][2] == {"k": []}
    assert (rel["name"], rel["status"], rel["revision"], rel["chart"], rel["chart_version"]) == \
        ("types", "deployed", 1, "demo", "0.1.0")
    assert rel["manifest"].startswith("---\n# Source: demo/")
    assert helm_output.parse_helm_time(rel["updated"]).year == 2026
    assert rel["digest"].startswith("sha256:") and rel["chart_values"]["replicaCount"] == 1


def test_parse_release_template_errors():
    assert helm_output.parse_release_template("") is None
    with pytest.raises(helm_errors.HelmError, match="cannot parse the output of helm get all"):
        helm_output.parse_release_template("name=sZZ;\n")
    with pytest.raises(helm_errors.HelmError):
        helm_output.parse_release_template("config=q;\n")


def test_parse_values_and_history():
    assert helm_output.parse_values("null\n") == {}
    assert helm_output.parse_values('{"a": {"b": 1.0}}') == {"a": {"b": 1}}
    hist = helm_output.parse_history(json.dumps([
        {"revision": 2, "status": "pending-upgrade", "chart": "demo-0.2.0", "app_version": "1", "description": "x",
         "updated": "2026-01-01T00:00:00Z"},
        {"revision": 1, "status": "superseded", "chart": "demo-0.1.0", "app_version": "1", "description": "x",
         "updated": "2026-01-01T00:00:00Z"},
    ]))
    assert [r["revision"] for r in hist] == [1, 2]


def test_parse_list_and_sort_newest_first():
    out = json.dumps([
        {"name": "a", "namespace": "admin", "revision": "3", "updated": "2026-01-01T10:00:00.000000Z",
         "status": "deployed", "chart": "kaapana-platform-chart-0.6.0", "app_version": "0.6.0"},
        {"name": "b", "namespace": "default", "revision": "1", "updated": "2026-01-01T12:00:00.000000+01:00",
         "status": "pending-install", "chart": "kaapana-admin-chart-0.6.0", "app_version": "0.6.0"},
        {"name": "c", "namespace": "default", "revision": "2", "updated": "2026-01-01 11:30:00.5 +0000 UTC",
         "status": "failed", "chart": "x-1.0.0", "app_version": ""},
    ])
    releases = helm_output.parse_list(out)
    assert releases[0]["revision"] == 3 and releases[0]["chart"] == "kaapana-platform-chart"
    assert releases[0]["chart_version"] == "0.6.0"
    ordered = helm_output.filter_and_sort_releases(releases)
    assert [r["name"] for r in ordered] == ["c", "b", "a"]  # 11:30Z, 11:00Z, 10:00Z
    assert [r["name"] for r in helm_output.filter_and_sort_releases(releases, states=["failed", "deployed"])] == ["c", "a"]
    assert [r["name"] for r in helm_output.filter_and_sort_releases(releases, namespaces=["admin"])] == ["a"]
    assert ordered[0]["updated"] == "2026-01-01T11:30:00.500000+00:00"


def test_parse_helm_time():
    assert helm_output.parse_helm_time("2026-01-01T12:00:00.123456789+01:00").isoformat() == "2026-01-01T11:00:00.123456+00:00"
    assert helm_output.parse_helm_time("nonsense") is None


def test_parse_pull_digest():
    digest = "sha256:" + "a" * 64
    assert helm_output.parse_pull_digest("Pulled: h/c:1.0.0\nDigest: %s\n" % digest) == digest
    assert helm_output.parse_pull_digest("nothing") is None


# ------------------------------------------------------------------------------------------------------------
# What the real helm 3 and helm 4 print (fixtures/helm3, fixtures/helm4, captured by fixtures/capture_helm.py from
# releases in helm's memory driver). The modules read the same fields from both majors.
# ------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("major", major_params())
def test_real_get_all_template(major):
    rel = helm_output.parse_release_template(real_output(major, "get_all_template.txt"))
    assert (rel["name"], rel["namespace"], rel["status"], rel["revision"]) == ("demo", "ns1", "deployed", 2)
    assert (rel["chart"], rel["chart_version"], rel["app_version"]) == ("demo", "0.1.0", "1.0")
    assert rel["config"] == helm_output.parse_values(real_output(major, "get_values.json"))
    assert rel["config"]["unicode"] == u"\u00fc\u20ac\U0001f600" and rel["config"]["big"] == 10 ** 21
    assert rel["chart_values"] == {"replicas": 1, "image": {"tag": "latest"}} and not rel["has_dependencies"]
    assert helm_output.parse_helm_time(rel["updated"]).isoformat() == "2026-01-03T03:04:05.500000+00:00"
    assert rel["manifest"].startswith("---\n# Source: demo/templates/cm.yaml")
    assert rel["digest"].startswith("sha256:")


def test_real_get_all_template_is_the_same_for_both_majors():
    assert real_output(3, "get_all_template.txt") == real_output(4, "get_all_template.txt")


@pytest.mark.parametrize("major", major_params())
def test_real_list_history_values(major):
    releases = helm_output.parse_list(real_output(major, "list.json"))
    assert {r["name"]: r["status"] for r in releases} == {
        "broken": "failed", "demo": "deployed", "gone": "uninstalled", "pend": "pending-upgrade",
        "pinst": "pending-install"}
    demo = [r for r in releases if r["name"] == "demo"][0]
    assert demo == {"name": "demo", "namespace": "ns1", "revision": 2, "status": "deployed", "chart": "demo",
                    "chart_version": "0.1.0", "app_version": "1.0", "updated": "2026-01-03T03:04:05.500000+00:00"}
    assert helm_output.filter_and_sort_releases(releases)[0]["name"] == "demo"
    history = helm_output.parse_history(real_output(major, "history.json"))
    assert [(h["revision"], h["status"], h["chart"]) for h in history] == [
        (1, "superseded", "demo-0.1.0"), (2, "deployed", "demo-0.1.0")]
    assert helm_output.parse_values(real_output(major, "get_values_none.json")) == {}


@pytest.mark.parametrize("major", major_params())
@pytest.mark.parametrize("name,status,revision", [("install.json", "deployed", 1), ("upgrade.json", "deployed", 3)])
def test_real_install_and_upgrade_json(major, name, status, revision):
    """Helm 4 adds apply_method (ssa for a new release, csa kept for one Helm 3 installed), chart.modtime and
    chart.schemamodtime, and leaves out the empty info.deleted; none of that changes the summary."""
    text = real_output(major, name)
    rel = helm_output.parse_release(text)
    assert (rel["status"], rel["revision"], rel["chart"], rel["chart_version"]) == (status, revision, "demo", "0.1.0")
    assert rel["config"] == {} and rel["manifest"].startswith("---\n# Source: demo/templates/cm.yaml")
    raw = json.loads(text)
    if major == 4:
        assert raw["apply_method"] == ("ssa" if name == "install.json" else "csa")
    else:
        assert "apply_method" not in raw
    # the digest of what helm stored equals the digest of the chart the template came from
    template = real_output(major, "get_all_template.txt")
    assert rel["digest"] == helm_output.parse_release_template(template)["digest"]
