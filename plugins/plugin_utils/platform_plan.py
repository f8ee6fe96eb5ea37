# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""The platform plan: from the kaapana_* variables a user writes, the main node's host variables (its facts and
what the cluster and gpu roles publish) and what the cluster says, everything the platform role derives: the
domain, the main node's name, address, memory and home, the storage classes, the slow-data volume, the layout
(namespaces and data directories after the INSTANCE_UID rewrite) and, with a cluster reading, the chart values
that `helm install` gets.

This is the one place for these fallbacks: the kaapana.platform.platform_plan action calls platform_plan() for
the role, and scripts/real_chart_check.py calls it for a representative inventory. The values themselves are
plugin_utils/platform.py's platform_values (kaapanactl.sh's --set line); the storage classes are
plugin_utils/storage_provider.py's. Controller-side only (plugin_utils): nothing here runs on managed nodes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible_collections.kaapana.platform.plugins.plugin_utils import platform, storage_provider
from ansible_collections.kaapana.platform.plugins.plugin_utils.node_name import microk8s_node_name

# The variables platform_plan reads (the action passes these from the play), with the value used when one is not
# defined at all. The platform role's defaults define all but the network ranges, which belong to no_proxy's.
VARIABLES = {
    "kaapana_domain": "",
    "kaapana_instance_name": "",
    "kaapana_instance_uid": "",
    "kaapana_services_namespace": "services",
    "kaapana_admin_namespace": "admin",
    "kaapana_extensions_namespace": "extensions",
    "kaapana_helm_namespace": "default",
    "kaapana_fast_data_dir": "/home/kaapana",
    "kaapana_slow_data_dir": "/home/kaapana",
    "kaapana_include_reverse_proxy": False,
    "kaapana_main_node_name": "",
    "kaapana_host_ip": "",
    "kaapana_home_dir": "",
    "kaapana_memory_total_mb": None,
    "kaapana_memory_allocatable_percent": 70,
    "kaapana_pacs_memory_percent": 30,
    "kaapana_airflow_memory_percent": 50,
    "kaapana_opensearch_memory_percent": 20,
    "kaapana_gpu_support": "auto",
    "kaapana_storage_provider": "hostpath",
    "kaapana_storage_class_fast": "",
    "kaapana_storage_class_slow": "",
    "kaapana_storage_class_workflow": "",
    "kaapana_volume_slow_data": "100Gi",
    "kaapana_storage_node": "storage",
    "kaapana_platform_set_replica_count": True,
    "kaapana_registry_username": "",
    "kaapana_registry_password": "",
    "kaapana_chart_path": "",
    "kaapana_offline_mode": False,
    "kaapana_dev_mode": True,
    "kaapana_prefetch_extensions": False,
    "kaapana_http_port": 80,
    "kaapana_https_port": 443,
    "kaapana_dicom_port": 11112,
    "kaapana_http_proxy": "",
    "kaapana_https_proxy": "",
    "kaapana_mount_points_to_monitor": "",
    "kaapana_credentials_minio_username": "kaapanaminio",
    "kaapana_credentials_minio_password": "Kaapana2020",
    "kaapana_grafana_username": "admin",
    "kaapana_grafana_password": "admin",
    "kaapana_keycloak_admin_username": "admin",
    "kaapana_keycloak_admin_password": "Kaapana2020",
    "kaapana_smtp_host": "",
    "kaapana_smtp_port": 0,
    "kaapana_smtp_username": "",
    "kaapana_smtp_password": "",
    "kaapana_email_address_sender": "",
    "kaapana_pod_cidr": platform.POD_CIDR,
    "kaapana_service_cidr": platform.SERVICE_CIDR,
    "kaapana_platform_extra_values": {},
}
# The main node's host variables platform_plan reads: the gathered facts, the cluster role's node fact, the
# inventory's node name and address, and the gpu role's decision.
MAIN_HOST_VARIABLES = ("ansible_facts", "_kaapana_node", "kaapana_node_name", "kaapana_node_ip",
                       "kaapana_gpu_support_enabled")
# Kaapana's project namespaces.
PROJECT_NAMESPACES = "project-*"


def _blank(value):
    """Jinja's `default('', true)`: every false value (None, '', 0, False, empty collections) becomes ''."""
    return value if value else ""


def _text(value):
    return "" if value is None else str(value)


def _truthy(value):
    """Ansible's `bool` filter: true, yes, on, 1 (any case) are true, everything else false."""
    if isinstance(value, bool):
        return value
    return _text(value).strip().lower() in ("true", "yes", "on", "1")


def _combine(base, extra):
    """Ansible's combine(recursive=true): mappings merge key by key, anything else is replaced."""
    result = dict(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _combine(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _variables(variables):
    merged = dict(VARIABLES)
    merged.update(dict((k, v) for k, v in (variables or {}).items() if k in VARIABLES))
    return merged


def main_node(variables, main_host):
    """{domain, instance_name, host_ip, main_node_name, memory_total_mb, home_dir, gpu_support}: the inventory's
    setting where it has one, else what the main node's host variables say (the cluster role's `_kaapana_node`,
    then the inventory's kaapana_node_name/kaapana_node_ip, then the gathered facts)."""
    v = _variables(variables)
    host = main_host or {}
    facts = host.get("ansible_facts") or {}
    node = host.get("_kaapana_node")
    domain = _text(_blank(v["kaapana_domain"])).strip() or _text(facts.get("fqdn", ""))
    domain = re.sub(r"\.$", "", domain)

    def node_value(key, inventory_name, from_facts):
        if isinstance(node, dict) and key in node:
            return node[key]
        if inventory_name in host:
            return host[inventory_name]
        return from_facts()

    def fact_address():
        default_ipv4 = facts.get("default_ipv4")
        if isinstance(default_ipv4, dict) and "address" in default_ipv4:
            return default_ipv4["address"]
        return (facts.get("all_ipv4_addresses") or [""])[0]

    memory_total_mb = v["kaapana_memory_total_mb"]
    if memory_total_mb is None:
        memory_total_mb = facts.get("memtotal_mb", 0)
    gpu = v["kaapana_gpu_support"]
    return {
        "domain": domain,
        "instance_name": _text(_blank(v["kaapana_instance_name"])).strip() or domain,
        "host_ip": _blank(v["kaapana_host_ip"]) or node_value(
            "ip", "kaapana_node_ip", fact_address),
        "main_node_name": _blank(v["kaapana_main_node_name"]) or node_value(
            "name", "kaapana_node_name", lambda: microk8s_node_name(facts)),
        "memory_total_mb": memory_total_mb,
        "home_dir": _blank(v["kaapana_home_dir"]) or facts.get("user_dir", ""),
        "gpu_support": (_truthy(host.get("kaapana_gpu_support_enabled", False)) if _text(gpu).lower() == "auto"
                        else _truthy(gpu)),
    }


def layout(variables):
    """platform.platform_layout of the kaapana_* namespaces and data directories, plus the namespace lists the
    role acts on: own (only this instance uses them; undeploy force-deletes and waits only there), undeploy, pod
    (the health gate waits for their pods) and gate (pod namespaces and the Helm namespace)."""
    v = _variables(variables)
    result = platform.platform_layout({
        "instance_uid": _text(_blank(v["kaapana_instance_uid"])),
        "services_namespace": v["kaapana_services_namespace"], "admin_namespace": v["kaapana_admin_namespace"],
        "extensions_namespace": v["kaapana_extensions_namespace"], "helm_namespace": v["kaapana_helm_namespace"],
        "fast_data_dir": v["kaapana_fast_data_dir"], "slow_data_dir": v["kaapana_slow_data_dir"],
        "include_reverse_proxy": _truthy(v["kaapana_include_reverse_proxy"])})
    # With an INSTANCE_UID the admin and project-* namespaces are shared with other instances.
    shared = len(result["instance_uid"]) > 0
    result["own_namespaces"] = [result["services_namespace"], result["extensions_namespace"]] + (
        [] if shared else [result["admin_namespace"]])
    result["undeploy_namespaces"] = result["own_namespaces"] + ([] if shared else [PROJECT_NAMESPACES])
    result["pod_namespaces"] = result["platform_namespaces"] + [PROJECT_NAMESPACES]
    result["gate_namespaces"] = result["pod_namespaces"] + [result["helm_namespace"]]
    return result


def storage(variables):
    """{classes, longhorn, volume_slow_data, errors}: the provider's storage classes with the overrides (None and
    the message in errors when the provider or an override is bad) and VOLUME_SLOW_DATA, which falls back to 10Gi
    on hostpath when it is empty (setup_storage_provider)."""
    v = _variables(variables)
    errors = []
    try:
        classes = storage_provider.storage_classes(v["kaapana_storage_provider"], {
            "fast": v["kaapana_storage_class_fast"], "slow": v["kaapana_storage_class_slow"],
            "workflow": v["kaapana_storage_class_workflow"]})
        longhorn = classes["provisioner"] == storage_provider.LONGHORN
    except storage_provider.StorageProviderError as error:
        classes = None
        longhorn = storage_provider.is_longhorn(v["kaapana_storage_provider"])
        errors.append(str(error))
    provisioner = storage_provider.LONGHORN if longhorn else storage_provider.HOSTPATH
    return {
        "classes": classes,
        "longhorn": longhorn,
        "provider_object": dict(storage_provider.PROVIDER_OBJECTS[provisioner]),
        "volume_slow_data": _text(_blank(v["kaapana_volume_slow_data"])).strip() or ("" if longhorn else "10Gi"),
        "errors": errors,
    }


def settings(variables, main_host, cluster, chart):
    """The settings dict of platform.platform_values for these variables, main node and cluster reading.

    cluster: {endpoint_ip (the kubernetes endpoint's address, '' when unknown), replica_count, generated:
    {oidc_client_secret, deployment_timestamp}}. chart: {name, registry_url} of the chart being installed."""
    v = _variables(variables)
    node = main_node(v, main_host)
    store = storage(v)
    if store["errors"]:
        raise platform.PlatformError(" ".join(store["errors"]))
    classes = store["classes"]
    generated = cluster.get("generated") or {}
    replica_count = cluster.get("replica_count")
    return {
        "platform_name": chart["name"],
        "registry_url": chart["registry_url"],
        "registry_username": _blank(v["kaapana_registry_username"]),
        "registry_password": _blank(v["kaapana_registry_password"]),
        "chart_path": _blank(v["kaapana_chart_path"]),
        "offline_mode": _truthy(v["kaapana_offline_mode"]),
        "dev_mode": _truthy(v["kaapana_dev_mode"]),
        "gpu_support": node["gpu_support"],
        "prefetch_extensions": _truthy(v["kaapana_prefetch_extensions"]),
        "instance_uid": _blank(v["kaapana_instance_uid"]),
        "services_namespace": v["kaapana_services_namespace"],
        "admin_namespace": v["kaapana_admin_namespace"],
        "extensions_namespace": v["kaapana_extensions_namespace"],
        "helm_namespace": v["kaapana_helm_namespace"],
        "fast_data_dir": v["kaapana_fast_data_dir"],
        "slow_data_dir": v["kaapana_slow_data_dir"],
        "include_reverse_proxy": _truthy(v["kaapana_include_reverse_proxy"]),
        "oidc_client_secret": generated["oidc_client_secret"],
        "home_dir": node["home_dir"],
        "domain": node["domain"],
        "instance_name": node["instance_name"],
        "http_port": v["kaapana_http_port"],
        "https_port": v["kaapana_https_port"],
        "dicom_port": v["kaapana_dicom_port"],
        "host_ip": node["host_ip"],
        "kubernetes_endpoint_ip": cluster.get("endpoint_ip") or "",
        "http_proxy": _blank(v["kaapana_http_proxy"]),
        "https_proxy": _blank(v["kaapana_https_proxy"]),
        "deployment_timestamp": generated["deployment_timestamp"],
        "mount_points_to_monitor": _blank(v["kaapana_mount_points_to_monitor"]),
        "memory_total_mb": node["memory_total_mb"],
        "memory_allocatable_percent": v["kaapana_memory_allocatable_percent"],
        "pacs_percent": v["kaapana_pacs_memory_percent"],
        "airflow_percent": v["kaapana_airflow_memory_percent"],
        "opensearch_percent": v["kaapana_opensearch_memory_percent"],
        "minio_username": v["kaapana_credentials_minio_username"],
        "minio_password": v["kaapana_credentials_minio_password"],
        "grafana_username": v["kaapana_grafana_username"],
        "grafana_password": v["kaapana_grafana_password"],
        "keycloak_admin_username": v["kaapana_keycloak_admin_username"],
        "keycloak_admin_password": v["kaapana_keycloak_admin_password"],
        "smtp_host": _blank(v["kaapana_smtp_host"]),
        "smtp_port": v["kaapana_smtp_port"],
        "smtp_username": _blank(v["kaapana_smtp_username"]),
        "smtp_password": _blank(v["kaapana_smtp_password"]),
        "email_address_sender": _blank(v["kaapana_email_address_sender"]),
        "storage_class_fast": classes["fast"],
        "storage_class_slow": classes["slow"],
        "storage_class_workflow": classes["workflow"],
        "main_node_name": node["main_node_name"],
        "volume_slow_data": store["volume_slow_data"],
        "replica_count": 1 if replica_count is None else replica_count,
        "storage_node": v["kaapana_storage_node"],
        # A chart with the storage subchart (0.6.1+) gets replica_count through the storage release instead.
        "set_replica_count": _truthy(v["kaapana_platform_set_replica_count"]) and not chart.get("storage_chart"),
        "service_cidr": v["kaapana_service_cidr"],
        "pod_cidr": v["kaapana_pod_cidr"],
    }


def platform_plan(variables, main_host, cluster=None, chart=None):
    """What the platform role derives from the inventory (see the module's doc string).

    variables: the kaapana_* variables (VARIABLES; missing ones take the value there). main_host: the main node's
    host variables (MAIN_HOST_VARIABLES). cluster and chart: see settings(); without a cluster reading the plan
    has no chart values (the checks and the undeploy need only the rest).

    Returns {domain, domain_check (platform.platform_domain_check), domain_is_ip, instance_name, host_ip,
    main_node_name, memory_total_mb, home_dir, gpu_support, layout, storage_classes (None when errors), longhorn,
    storage_provider_object ({kind, name, fix}: what shows the provider is installed, and how to install it),
    volume_slow_data, errors, chart_values (with a cluster reading: platform_values deep-merged with
    kaapana_platform_extra_values), storage_chart_values (with a cluster reading: the kaapana-storageclass
    release's values when chart.storage_chart is set, the chart carrying kaapana-storage-chart; else None)}.
    chart.storage_chart also drops global.replica_count from chart_values, as kaapanactl.sh 0.6.1 does. A bad
    storage provider or class is reported in errors so that the role's checks can name it in order; the chart
    values raise platform.PlatformError."""
    v = _variables(variables)
    store = storage(v)
    plan = main_node(v, main_host)
    domain_check = platform.platform_domain_check(plan["domain"])
    plan.update({
        "domain_check": domain_check,
        "domain_is_ip": domain_check["kind"] == "ip",
        "layout": layout(v),
        "storage_classes": store["classes"],
        "longhorn": store["longhorn"],
        "storage_provider_object": store["provider_object"],
        "volume_slow_data": store["volume_slow_data"],
        "errors": store["errors"],
    })
    if cluster is not None:
        chart_settings = settings(v, main_host, cluster, chart)
        values = platform.platform_values(chart_settings)
        plan["chart_values"] = _combine(values, v["kaapana_platform_extra_values"] or {})
        # The kaapana-storageclass release's values when the chart carries the storage subchart (0.6.1+), else None.
        plan["storage_chart_values"] = (platform.storage_chart_values(chart_settings)
                                        if chart.get("storage_chart") else None)
    return plan
