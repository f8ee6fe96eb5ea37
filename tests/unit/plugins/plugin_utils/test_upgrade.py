# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
"""The upgrade's decision (Kaapana's migration rules) and the migration chart's values."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.kaapana.platform.plugins.plugin_utils import upgrade


@pytest.mark.parametrize("text, expected", [
    ("0.6.1", (0, 6, 1)), ("0.6.1-lab", (0, 6, 1)), ("v0.5.3", (0, 5, 3)), ("0.6", (0, 6, None)),
    (" 0.6.0\n", (0, 6, 0)), ("0.6.1+build.7", (0, 6, 1)),
])
def test_versions_as_kaapana_writes_them_parse(text, expected):
    assert upgrade.parse_version(text) == expected


@pytest.mark.parametrize("text", ["", "latest", "0", "0.6.x", "six"])
def test_other_text_is_no_version(text):
    with pytest.raises(upgrade.UpgradeError):
        upgrade.parse_version(text)


def test_the_same_version_is_nothing_to_do():
    plan = upgrade.upgrade_plan("0.6.1-lab", "0.6.1-lab", "0.6.1-lab")
    assert plan["action"] == "none" and not plan["migrate"] and "already" in plan["reason"]


def test_a_patch_upgrade_redeploys_without_migration_as_kaapanactl():
    plan = upgrade.upgrade_plan("0.6.0", "0.6.0", "0.6.1")
    assert (plan["action"], plan["migrate"], plan["from_version"]) == ("upgrade", False, "0.6.0")
    assert "no migration" in plan["reason"]


def test_a_minor_upgrade_migrates_from_the_version_files_content():
    plan = upgrade.upgrade_plan("0.5.3-lab", "0.5.3-lab", "0.6.1-lab")
    assert (plan["action"], plan["migrate"], plan["from_version"]) == ("upgrade", True, "0.5.3-lab")
    assert "0.5 -> 0.6" in plan["reason"]


def test_without_a_version_file_the_release_gives_the_migration_source():
    plan = upgrade.upgrade_plan("0.5.3", "", "0.6.1")
    assert (plan["action"], plan["migrate"], plan["from_version"]) == ("upgrade", True, "0.5.3")


def test_an_undeployed_platform_resumes_from_the_version_file():
    # an upgrade that stopped after its undeploy: the migration wrote "0.6" (migration.py writes major.minor)
    plan = upgrade.upgrade_plan("", "0.6", "0.6.1")
    assert (plan["action"], plan["migrate"]) == ("upgrade", False)
    assert any("No platform release" in w for w in plan["warnings"])
    plan = upgrade.upgrade_plan("", "0.5.3", "0.6.1")
    assert (plan["action"], plan["migrate"], plan["from_version"]) == ("upgrade", True, "0.5.3")


def test_nothing_deployed_and_no_version_file_is_refused():
    plan = upgrade.upgrade_plan("", "", "0.6.1")
    assert plan["action"] == "refuse" and "site.yml" in plan["reason"]


@pytest.mark.parametrize("deployed, version_file, target, words", [
    ("0.6.1", "0.6.1", "0.6.0", ["downgrade", "restore.yml"]),
    ("0.6.0", "0.6", "0.5.3", ["downgrade"]),
    ("0.6.1", "0.6.1", "1.0.0", ["major version", "Major version migration not supported yet"]),
    ("0.5.3", "0.5.3", "0.6.0", ["0.5.x to 0.6.0 is not possible", "0.6.1"]),
    ("0.2.9", "0.2.9", "0.3.1", ["from 0.3.x on"]),
    ("0.6.0", "", "0.6", ["names no patch version"]),
    ("0.6.0", "", "latest", ["kaapana_platform_version", "not a Kaapana version"]),
])
def test_unsupported_jumps_are_refused_with_the_reason(deployed, version_file, target, words):
    plan = upgrade.upgrade_plan(deployed, version_file, target)
    assert plan["action"] == "refuse", plan
    missing = [w for w in words if w not in plan["reason"]]
    assert not missing, plan["reason"]


def test_a_version_file_that_disagrees_is_reported_and_wins_for_the_migration():
    plan = upgrade.upgrade_plan("0.6.0", "0.5.3", "0.6.1")
    assert (plan["action"], plan["migrate"], plan["from_version"]) == ("upgrade", True, "0.5.3")
    assert plan["warnings"] and "0.5.3" in plan["warnings"][0]


def test_a_garbled_version_file_is_ignored_with_a_warning():
    plan = upgrade.upgrade_plan("0.6.0", "garbage", "0.6.1")
    assert (plan["action"], plan["from_version"]) == ("upgrade", "0.6.0") and plan["warnings"]


GLOBAL = {"credentials_registry_username": "robot", "credentials_registry_password": "s3cret",
          "fast_data_dir": "/home/kaapana", "slow_data_dir": "/home/kaapana", "storage_class_slow": "slow",
          "storage_class_fast": "fast", "storage_class_workflow": "fast", "services_namespace": "services",
          "admin_namespace": "admin", "pull_policy_images": "IfNotPresent", "registry_url": "registry.example.org/k",
          "volume_slow_data": "100Gi", "hostname": "kaapana.example.org", "dicom_port": 11112}


def test_the_migration_values_are_kaapanactls_set_string_line():
    values = upgrade.migration_values({"global": GLOBAL}, "hostpath", "0.5.3", "0.6.1")
    assert list(values) == ["global"]
    assert list(values["global"]) == list(upgrade.MIGRATION_KEYS)
    assert values["global"]["kaapana_build_version"] == values["global"]["to_version"] == "0.6.1"
    assert values["global"]["from_version"] == "0.5.3" and values["global"]["storage_provider"] == "hostpath"
    assert all(isinstance(v, str) for v in values["global"].values())


def test_migration_values_name_what_the_chart_values_lack():
    with pytest.raises(upgrade.UpgradeError, match="global.registry_url"):
        upgrade.migration_values({"global": dict((k, v) for k, v in GLOBAL.items() if k != "registry_url")},
                                 "hostpath", "0.5.3", "0.6.1")
