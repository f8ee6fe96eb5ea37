"""Inventories, main-node facts and cluster readings whose chart values and layout are kept as golden files."""

FACTS = {
    "fqdn": "kaapana-main.example.org.",
    "hostname": "Kaapana-Main",
    "memtotal_mb": 16000,
    "default_ipv4": {"address": "192.0.2.10"},
    "all_ipv4_addresses": ["192.0.2.10", "198.51.100.7"],
    "user_dir": "/home/ubuntu",
}
BASE = {
    "kaapana_registry_url": "registry.example.org/kaapana",
    "kaapana_registry_username": "kaapana-deploy",
    "kaapana_registry_password": "example-registry-token",
    "kaapana_platform_version": "0.6.0",
}
GENERATED = {"oidc_client_secret": "0123456789", "deployment_timestamp": "2025-01-01T00:00:00+00:00"}


def case(variables=None, facts=None, main_host=None, cluster=None):
    host = {"ansible_facts": dict(FACTS, **(facts or {}))}
    host.update(main_host or {})
    merged = dict(BASE)
    merged.update(variables or {})
    return {"variables": merged, "main_host": host,
            "cluster": dict({"endpoint_ip": "10.0.0.1", "replica_count": 1, "generated": GENERATED}, **(cluster or {}))}


CASES = {
    # Everything from the facts: domain from the FQDN (trailing dot dropped), node name lower case.
    "facts_only": case(),
    "hostpath_domain": case({"kaapana_domain": "kaapana.example.org", "kaapana_storage_provider": "hostpath",
                             "kaapana_dev_mode": True}),
    "longhorn_uid": case({"kaapana_domain": "kaapana.example.org.", "kaapana_storage_provider": "Longhorn ",
                          "kaapana_instance_uid": "two", "kaapana_dev_mode": False, "kaapana_volume_slow_data": "",
                          "kaapana_offline_mode": True, "kaapana_chart_path": "/charts/kaapana-admin-chart-0.6.0.tgz",
                          "kaapana_http_proxy": "http://u:p@proxy:3128", "kaapana_https_proxy": "http://proxy:3128"},
                         cluster={"replica_count": 2,
                                  "chart_meta": {"name": "kaapana-admin-chart", "version": "0.6.1"}}),
    "driver_longhorn_overrides": case({"kaapana_domain": "k.example.org", "kaapana_storage_provider": "driver.longhorn.io",
                                       "kaapana_storage_class_fast": "fast-ssd", "kaapana_storage_class_workflow": " ",
                                       "kaapana_volume_slow_data": "2Ti", "kaapana_platform_set_replica_count": False}),
    "explicit_node": case({"kaapana_domain": "k.example.org", "kaapana_host_ip": "203.0.113.5",
                           "kaapana_main_node_name": "node-a", "kaapana_memory_total_mb": 64000,
                           "kaapana_home_dir": "/srv/home", "kaapana_instance_name": " Lab ",
                           "kaapana_gpu_support": "true", "kaapana_storage_provider": "microk8s",
                           "kaapana_chart_ref": "oci://reg.example.org/path/kaapana-admin-chart:0.7.0",
                           "kaapana_platform_extra_values": {"global": {"dev_mode": False, "extra": [1]}}}),
    # The cluster role's facts win over the gathered ones; the gpu role's decision with auto.
    "cluster_role_facts": case({"kaapana_domain": "k.example.org", "kaapana_storage_provider": "microk8s.io/hostpath"},
                               main_host={"_kaapana_node": {"name": "main-node", "ip": "192.0.2.99"},
                                          "kaapana_gpu_support_enabled": True},
                               cluster={"endpoint_ip": ""}),
    "inventory_node_vars": case({"kaapana_domain": "192.0.2.10"},
                                facts={"default_ipv4": {}},
                                main_host={"kaapana_node_name": "inv-node", "kaapana_node_ip": "192.0.2.77"}),
    "no_default_route": case({"kaapana_domain": "k.example.org"}, facts={"default_ipv4": {}, "memtotal_mb": 7999}),
}
