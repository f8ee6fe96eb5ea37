# -*- coding: utf-8 -*-
"""The platform plan keeps what roles/platform/vars/main.yml computed before the plan moved to Python: for each
inventory in platform_golden/cases.py, the golden file holds the chart values, the layout and the fallbacks as that
commit's vars/main.yml rendered them through Ansible (platform_golden/render_roles_vars.py)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys

import pytest
import yaml

from ansible_collections.kaapana.platform.plugins.plugin_utils import platform, platform_plan

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "platform_golden")
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
sys.path.insert(0, GOLDEN)
from cases import CASES  # noqa: E402

with open(os.path.join(ROOT, "roles", "platform", "defaults", "main.yml")) as handle:
    DEFAULTS = yaml.safe_load(handle)
NAMESPACE_LISTS = ("own_namespaces", "undeploy_namespaces", "pod_namespaces", "gate_namespaces")


def _chart(variables, cluster):
    """The chart as roles/platform/vars/main.yml resolves it (_kaapana_platform_chart)."""
    meta = cluster.get("chart_meta") or {}
    if variables.get("kaapana_chart_path"):
        return {"name": meta.get("name", variables["kaapana_platform_name"]),
                "registry_url": variables["kaapana_registry_url"]}
    if variables.get("kaapana_chart_ref"):
        return platform.platform_chart_reference(variables["kaapana_chart_ref"])
    return {"name": variables["kaapana_platform_name"], "registry_url": variables["kaapana_registry_url"]}


@pytest.mark.parametrize("name", sorted(CASES))
def test_plan_matches_the_golden_file(name):
    case = CASES[name]
    with open(os.path.join(GOLDEN, "%s.json" % name)) as handle:
        golden = json.load(handle)
    variables = dict(DEFAULTS, **case["variables"])
    plan = platform_plan.platform_plan(variables, case["main_host"], case["cluster"],
                                       _chart(variables, case["cluster"]))
    plan = json.loads(json.dumps(plan))
    assert plan["chart_values"] == golden["values"]
    layout = dict(plan["layout"])
    for key in NAMESPACE_LISTS:
        assert layout.pop(key) == golden[key], key
    assert layout == golden["layout"]
    assert plan["storage_classes"] == golden["storage_classes"]
    for key in ("domain", "volume_slow_data", "main_node_name", "memory_total_mb", "host_ip", "instance_name"):
        assert plan[key] == golden[key], key
    assert plan["errors"] == []


def test_without_a_cluster_reading_there_are_no_chart_values():
    plan = platform_plan.platform_plan(dict(DEFAULTS, kaapana_domain="k.example.org"), {"ansible_facts": {}})
    assert "chart_values" not in plan
    assert plan["domain"] == "k.example.org" and plan["main_node_name"] == "" and plan["memory_total_mb"] == 0


def test_a_bad_storage_provider_is_reported_not_raised():
    plan = platform_plan.platform_plan(dict(DEFAULTS, kaapana_storage_provider="nfs"), {})
    assert plan["storage_classes"] is None and not plan["longhorn"]
    assert plan["errors"][0].startswith("kaapana_storage_provider: unknown storage provider 'nfs'")
    with pytest.raises(platform.PlatformError, match="unknown storage provider"):
        platform_plan.platform_plan(dict(DEFAULTS, kaapana_storage_provider="nfs"), {},
                                    {"generated": {"oidc_client_secret": "x", "deployment_timestamp": "t"}},
                                    {"name": "kaapana-admin-chart", "registry_url": "r"})


def test_internal_cidrs_follow_the_pod_and_service_ranges():
    variables = dict(DEFAULTS, kaapana_domain="k.example.org", kaapana_pod_cidr="10.20.0.0/16",
                     kaapana_service_cidr="10.30.0.0/24", kaapana_host_ip="192.0.2.1")
    plan = platform_plan.platform_plan(variables, {"ansible_facts": {"memtotal_mb": 1000}},
                                       {"generated": {"oidc_client_secret": "x", "deployment_timestamp": "t"}},
                                       {"name": "kaapana-admin-chart", "registry_url": "r"})
    assert plan["chart_values"]["global"]["internalCidrs"] == ["10.30.0.0/24", "10.20.0.0/16", "192.0.2.1/32"]


def test_longhorn_without_a_slow_volume_leaves_it_empty_and_hostpath_takes_10gi():
    for provider, expected in (("longhorn", ""), ("hostpath", "10Gi")):
        plan = platform_plan.platform_plan(dict(DEFAULTS, kaapana_storage_provider=provider,
                                                kaapana_volume_slow_data=None), {})
        assert plan["volume_slow_data"] == expected


def test_the_main_node_name_of_an_fqdn_host_is_the_whole_fqdn():
    # As MicroK8s names the Node (the storage release's global.main_node_name must match it), not the hostname fact.
    facts = {"hostname": "kaapana01", "nodename": "Kaapana01.Hospital.Example", "memtotal_mb": 1000}
    plan = platform_plan.platform_plan(dict(DEFAULTS, kaapana_domain="k.example.org"), {"ansible_facts": facts})
    assert plan["main_node_name"] == "kaapana01.hospital.example"
    plan = platform_plan.platform_plan(dict(DEFAULTS, kaapana_domain="k.example.org"),
                                       {"ansible_facts": facts, "kaapana_node_name": "other"})
    assert plan["main_node_name"] == "other"
