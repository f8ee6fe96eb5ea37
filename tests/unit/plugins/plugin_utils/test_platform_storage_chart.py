# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
"""Kaapana 0.6.1's storage chart and two-phase install: what the chart archive carries, the kaapana-storageclass
release's values, the admin chart without global.replica_count, and where the preinstalled releases stand."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.kaapana.platform.plugins.plugin_utils import platform, platform_plan

LISTING_060 = """kaapana-admin-chart/Chart.yaml
kaapana-admin-chart/values.yaml
kaapana-admin-chart/templates/storageclasses.yaml
kaapana-admin-chart/charts/kaapana-library-chart/Chart.yaml
"""
LISTING_061 = LISTING_060 + """kaapana-admin-chart/charts/kaapana-storage-chart/Chart.yaml
kaapana-admin-chart/charts/kaapana-storage-chart/values.yaml
kaapana-admin-chart/charts/kaapana-storage-chart/templates/storageclasses.yaml
"""


def test_a_060_chart_has_no_storage_chart_and_kaapanas_three_preinstall_releases():
    contents = platform.platform_chart_contents(LISTING_060)
    assert contents == {"root": "kaapana-admin-chart", "storage_chart": "", "migration_chart": "", "read": True,
                        "preinstall_releases": ["kaapana-platform-chart", "code-server-chart",
                                                "kaapana-workflows-core"]}


def test_an_unread_chart_has_no_storage_chart_and_kaapanas_three_preinstall_releases():
    contents = platform.platform_chart_contents(None)
    assert contents["read"] is False and contents["storage_chart"] == ""
    assert contents["preinstall_releases"] == list(platform.PREINSTALL_RELEASES)


def test_a_061_chart_carries_the_storage_subchart_folder():
    contents = platform.platform_chart_contents(LISTING_061.splitlines())
    assert contents["storage_chart"] == "kaapana-admin-chart/charts/kaapana-storage-chart"


def test_a_packaged_storage_subchart_counts_too():
    listing = LISTING_060 + "kaapana-admin-chart/charts/kaapana-storage-chart-0.6.1.tgz\n"
    assert platform.platform_chart_contents(listing)["storage_chart"] == \
        "kaapana-admin-chart/charts/kaapana-storage-chart-0.6.1.tgz"


def test_a_similar_name_or_a_nested_chart_is_not_the_storage_chart():
    listing = LISTING_060 + ("kaapana-admin-chart/charts/kaapana-storage-chart-extra/Chart.yaml\n"
                             "kaapana-admin-chart/charts/other/charts/kaapana-storage-chart/Chart.yaml\n")
    assert platform.platform_chart_contents(listing)["storage_chart"] == ""


def test_the_migration_chart_is_found_as_a_folder_or_a_package():
    listing = LISTING_061 + "kaapana-admin-chart/charts/migration-chart/Chart.yaml\n"
    assert platform.platform_chart_contents(listing)["migration_chart"] == "kaapana-admin-chart/charts/migration-chart"
    packaged = LISTING_060 + "kaapana-admin-chart/charts/migration-chart-0.0.0.tgz\n"
    assert platform.platform_chart_contents(packaged)["migration_chart"] == \
        "kaapana-admin-chart/charts/migration-chart-0.0.0.tgz"
    assert platform.platform_chart_contents(LISTING_061)["migration_chart"] == ""


def test_the_preinstall_releases_come_from_the_values():
    values = {"global": {"preinstall_extensions": [{"name": "kaapana-platform-chart", "version": "0.6.1"},
                                                   {"name": "my-chart"}, {"name": "my-chart"}, {"version": "1"}]}}
    assert platform.platform_chart_contents(LISTING_061, values)["preinstall_releases"] == \
        ["kaapana-platform-chart", "my-chart"]


def test_an_empty_archive_is_an_error():
    with pytest.raises(platform.PlatformError, match="not a Helm chart"):
        platform.platform_chart_contents("")


def test_storage_chart_values_are_strings_after_the_instance_uid_rewrite():
    values = platform.storage_chart_values({"main_node_name": "main", "replica_count": 2, "instance_uid": "two",
                                            "fast_data_dir": "/fast", "slow_data_dir": "/slow"})
    assert values == {"global": {"main_node_name": "main", "replica_count": "2", "fast_data_dir": "/fast-two",
                                 "slow_data_dir": "/slow-two"}}


def test_storage_chart_values_need_the_node_name():
    with pytest.raises(platform.PlatformError, match="main_node_name"):
        platform.storage_chart_values({"main_node_name": ""})


def _plan(storage_chart, **variables):
    host = {"ansible_facts": {"fqdn": "k.example.org", "hostname": "Main", "memtotal_mb": 16000,
                              "default_ipv4": {"address": "192.0.2.10"}, "user_dir": "/home/u"}}
    cluster = {"endpoint_ip": "10.0.0.1", "replica_count": 3,
               "generated": {"oidc_client_secret": "s", "deployment_timestamp": "t"}}
    chart = {"name": "kaapana-admin-chart", "registry_url": "reg.example.org/kaapana", "storage_chart": storage_chart}
    variables.setdefault("kaapana_fast_data_dir", "/fast")
    return platform_plan.platform_plan(variables, host, cluster, chart)


def test_the_plan_of_a_061_chart_has_the_storage_values_and_no_replica_count_for_the_admin_chart():
    plan = _plan(True)
    assert "replica_count" not in plan["chart_values"]["global"]
    assert plan["storage_chart_values"] == {"global": {"main_node_name": "main", "replica_count": "3",
                                                       "fast_data_dir": "/fast", "slow_data_dir": "/home/kaapana"}}


def test_the_plan_of_a_060_chart_keeps_replica_count_and_has_no_storage_values():
    plan = _plan(False)
    assert plan["chart_values"]["global"]["replica_count"] == "3"
    assert plan["storage_chart_values"] is None
    assert "replica_count" not in _plan(False, kaapana_platform_set_replica_count=False)["chart_values"]["global"]


def test_preinstall_status_all_deployed():
    status = platform.preinstall_status([{"name": "a", "status": "deployed"}, {"name": "b", "status": "deployed"},
                                         {"name": "other", "status": "failed"}], ["a", "b"], "admin")
    assert status["done"] and not status["failed"]
    assert status["message"] == "2 preinstalled release(s) deployed in namespace admin: a, b"


def test_preinstall_status_names_the_missing_pending_and_failed_ones_with_the_hint():
    status = platform.preinstall_status([{"name": "a", "status": "pending-install"}, {"name": "b", "status": "failed"}],
                                        ["a", "b", "c"], "admin", "See the logs.")
    assert not status["done"] and status["failed"]
    assert status["releases"] == [{"name": "a", "status": "pending-install"}, {"name": "b", "status": "failed"},
                                  {"name": "c", "status": "missing"}]
    assert status["message"] == ("preinstalled release(s) not deployed in namespace admin: a (pending-install), "
                                 "b (failed), c (missing). See the logs.")


def test_preinstall_status_without_releases_to_wait_for_is_done():
    assert platform.preinstall_status([], [])["done"]


@pytest.mark.parametrize("provider,kind,name,fix", [
    ("hostpath", "StorageClass", "microk8s-hostpath", "microk8s enable hostpath-storage"),
    ("microk8s.io/hostpath", "StorageClass", "microk8s-hostpath", "microk8s enable hostpath-storage"),
    ("Longhorn", "CSIDriver", "driver.longhorn.io", "playbooks/storage.yml"),
])
def test_the_plan_names_what_shows_the_storage_provider_is_installed_and_the_fix(provider, kind, name, fix):
    found = platform_plan.platform_plan({"kaapana_storage_provider": provider}, {"ansible_facts": {}})
    assert found["storage_provider_object"]["kind"] == kind and found["storage_provider_object"]["name"] == name
    assert fix in found["storage_provider_object"]["fix"]


def test_an_empty_preinstall_list_means_none_and_a_missing_one_kaapanas_three():
    assert platform.platform_chart_contents(LISTING_061, {"global": {"preinstall_extensions": []}})[
        "preinstall_releases"] == []
    assert platform.platform_chart_contents(LISTING_061, {"global": {}})["preinstall_releases"] == \
        list(platform.PREINSTALL_RELEASES)
