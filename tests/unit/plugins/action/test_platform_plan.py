# -*- coding: utf-8 -*-
"""The platform_plan action: reads the kaapana_* variables it knows and the main node's host variables, and
returns plugin_utils/platform_plan.py's plan (or fails with its message)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from unittest.mock import MagicMock

from ansible.playbook.play_context import PlayContext

from ansible_collections.kaapana.platform.plugins.action.platform_plan import ActionModule

GENERATED = {"oidc_client_secret": "0123456789", "deployment_timestamp": "2025-01-01T00:00:00+00:00"}
CHART = {"name": "kaapana-admin-chart", "registry_url": "registry.example.org/kaapana"}


def _run(args, task_vars):
    task = MagicMock()
    task.args = args
    task.async_val = 0
    task.check_mode = False
    task.diff = False
    templar = MagicMock()
    templar.template.side_effect = lambda value: value
    action = ActionModule(task, MagicMock(), PlayContext(), loader=None, templar=templar, shared_loader_obj=None)
    return action.run(task_vars=task_vars)


def _task_vars(**variables):
    main = {"ansible_facts": {"fqdn": "main.example.org", "hostname": "Main", "memtotal_mb": 16000,
                              "default_ipv4": {"address": "192.0.2.10"}},
            "kaapana_gpu_support_enabled": True, "unrelated": "ignored"}
    result = {"hostvars": {"main": main}, "kaapana_unknown": "ignored"}
    result.update(variables)
    return result


def test_the_plan_comes_from_the_variables_and_the_main_node():
    result = _run({"main_host": "main"}, _task_vars(kaapana_instance_uid="two", kaapana_storage_provider="longhorn"))
    assert not result.get("failed") and result["changed"] is False
    assert result["domain"] == "main.example.org" and result["main_node_name"] == "main"
    assert result["gpu_support"] is True and result["longhorn"] is True
    assert result["layout"]["helm_namespace"] == "two-default"
    assert "chart_values" not in result


def test_with_a_cluster_reading_there_are_chart_values():
    result = _run({"main_host": "main", "chart": CHART,
                   "cluster": {"endpoint_ip": "10.0.0.1", "replica_count": 1, "generated": GENERATED}},
                  _task_vars(kaapana_service_cidr="10.30.0.0/24"))
    assert result["chart_values"]["global"]["internalCidrs"] == [
        "10.30.0.0/24", "10.1.0.0/16", "192.0.2.10/32", "10.0.0.1/32"]
    assert result["chart_values"]["global"]["release_name"] == "kaapana-admin-chart"


def test_an_unknown_main_host_and_bad_values_fail_with_a_message():
    assert "not a host of the inventory" in _run({"main_host": "other"}, _task_vars())["msg"]
    no_chart = _run({"main_host": "main", "cluster": {"generated": GENERATED}}, _task_vars())
    assert "chart must be a mapping" in no_chart["msg"]
    result = _run({"main_host": "main", "chart": CHART, "cluster": {"generated": GENERATED}},
                  _task_vars(kaapana_http_port="eighty"))
    assert result["failed"] and result["msg"] == "http_port must be an integer, got 'eighty'"


def test_a_chart_with_the_storage_subchart_gets_the_storage_release_values():
    chart = dict(CHART, storage_chart=True)
    result = _run({"main_host": "main", "chart": chart, "cluster": {"generated": GENERATED, "replica_count": 2}},
                  _task_vars())
    assert result["storage_chart_values"]["global"]["replica_count"] == "2"
    assert "replica_count" not in result["chart_values"]["global"]
    plain = _run({"main_host": "main", "chart": CHART, "cluster": {"generated": GENERATED}}, _task_vars())
    assert plain["storage_chart_values"] is None and plain["chart_values"]["global"]["replica_count"] == "1"
