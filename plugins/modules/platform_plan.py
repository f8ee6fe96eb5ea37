#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: platform_plan
short_description: Work out what the platform role derives from the inventory, and the chart values
version_added: 0.1.0
description:
  - Reads the C(kaapana_*) variables of the play (the platform role's, and C(kaapana_pod_cidr) and
    C(kaapana_service_cidr)) and the host variables of O(main_host) (its facts, the cluster role's C(_kaapana_node),
    C(kaapana_node_name), C(kaapana_node_ip) and the gpu role's C(kaapana_gpu_support_enabled)).
  - Returns the domain, the main node's Kubernetes name, address, memory and home directory, the storage classes, the
    slow-data volume and the layout (namespaces and data directories after the INSTANCE_UID rewrite). With O(cluster)
    it also returns the chart values C(helm install) gets (kaapanactl.sh's C(--set) line, deep-merged with
    C(kaapana_platform_extra_values)).
  - An action that runs on the controller only; it changes nothing and connects to no host.
  - The logic is the collection's C(plugins/plugin_utils/platform_plan.py), which C(scripts/real_chart_check.py)
    calls too.
author:
  - kaapana.platform maintainers (@kaapana)
options:
  main_host:
    description: The inventory name of the main node (the one host of the C(kaapana_main) group).
    type: str
    required: true
  cluster:
    description:
      - What the cluster says; without it the result has no RV(chart_values).
    type: dict
    suboptions:
      endpoint_ip:
        description: The address of the C(kubernetes) endpoint (part of C(internalCidrs)); empty when unknown.
        type: str
        default: ''
      replica_count:
        description: Kaapana's C(REPLICA_COUNT).
        type: raw
        default: 1
      generated:
        description: The generated values, C(oidc_client_secret) and C(deployment_timestamp).
        type: dict
        required: true
  chart:
    description:
      - The chart being installed, C(name) (the release name) and C(registry_url). Required with O(cluster).
      - C(storage_chart) (optional) is true when the chart carries C(kaapana-storage-chart) (Kaapana 0.6.1+); the
        result then has RV(storage_chart_values), and RV(chart_values) has no C(global.replica_count).
    type: dict
attributes:
  check_mode:
    support: full
    description: It only computes; check mode runs it unchanged.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to diff.
  action:
    support: full
    description: An action plugin does the work on the controller.
"""

EXAMPLES = r"""
- name: Work out the platform plan
  kaapana.platform.platform_plan:
    main_host: "{{ groups | kaapana.platform.main_host }}"
  register: _kaapana_platform_plan

- name: Work out the chart values after reading the cluster
  kaapana.platform.platform_plan:
    main_host: "{{ groups | kaapana.platform.main_host }}"
    chart: {name: kaapana-admin-chart, registry_url: registry.example.org/kaapana}
    cluster:
      endpoint_ip: 10.0.0.1
      replica_count: 1
      generated: {oidc_client_secret: "{{ oidc_secret }}", deployment_timestamp: "2025-01-01T00:00:00+00:00"}
  register: _kaapana_platform_plan
  no_log: true
"""

RETURN = r"""
domain:
  description: C(kaapana_domain), else the main node's FQDN; without a trailing dot.
  type: str
  returned: always
domain_check:
  description: P(kaapana.platform.platform_domain_check#filter) of RV(domain).
  type: dict
  returned: always
domain_is_ip:
  description: Whether RV(domain) is an IP address.
  type: bool
  returned: always
instance_name:
  description: C(kaapana_instance_name), else RV(domain).
  type: str
  returned: always
host_ip:
  description: C(kaapana_host_ip), else the cluster role's node address, C(kaapana_node_ip) or the default IPv4 address.
  type: str
  returned: always
main_node_name:
  description: C(kaapana_main_node_name), else the cluster role's node name, C(kaapana_node_name) or the host name in lower case.
  type: str
  returned: always
memory_total_mb:
  description: C(kaapana_memory_total_mb), else the main node's memory in MiB.
  type: raw
  returned: always
home_dir:
  description: C(kaapana_home_dir), else the connecting user's home on the main node.
  type: str
  returned: always
gpu_support:
  description: C(kaapana_gpu_support), or with V(auto) the gpu role's decision (false when it did not run).
  type: bool
  returned: always
layout:
  description:
    - P(kaapana.platform.platform_layout#filter) of the namespaces and data directories, plus the lists
      C(own_namespaces), C(undeploy_namespaces), C(pod_namespaces) and C(gate_namespaces).
  type: dict
  returned: always
storage_classes:
  description: P(kaapana.platform.storage_classes#filter) of the provider and overrides; null when RV(errors) says why.
  type: dict
  returned: always
longhorn:
  description: Whether the storage provider is Longhorn.
  type: bool
  returned: always
volume_slow_data:
  description: C(kaapana_volume_slow_data), else V(10Gi) on hostpath and empty on Longhorn.
  type: str
  returned: always
storage_provider_object:
  description:
    - What shows that the storage provider is installed, C(kind) and C(name) (the CSIDriver C(driver.longhorn.io), or
      the StorageClass C(microk8s-hostpath)), and C(fix), how to install it.
  type: dict
  returned: always
errors:
  description: Why the storage provider or a storage class override cannot be used; empty when they can.
  type: list
  elements: str
  returned: always
chart_values:
  description: The chart values (contains credentials).
  type: dict
  returned: with O(cluster)
storage_chart_values:
  description:
    - The values of the C(kaapana-storageclass) release (C(global.main_node_name), C(replica_count), C(fast_data_dir),
      C(slow_data_dir), all strings as kaapanactl.sh's C(--set-string)); null when the chart has no storage subchart.
  type: dict
  returned: with O(cluster)
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    cluster = dict(endpoint_ip=dict(type="str", default=""), replica_count=dict(type="raw", default=1),
                   generated=dict(type="dict", required=True))
    module = AnsibleModule(argument_spec=dict(main_host=dict(type="str", required=True),
                                              cluster=dict(type="dict", options=cluster), chart=dict(type="dict")),
                           supports_check_mode=True)
    module.fail_json(msg="kaapana.platform.platform_plan runs on the controller through its action plugin")


if __name__ == "__main__":
    main()
