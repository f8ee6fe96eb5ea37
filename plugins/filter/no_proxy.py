# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Filters for the no_proxy role: the merged NO_PROXY list and environment-file updates.
The logic lives in plugin_utils/proxy_env.py; these wrappers only translate errors.
Documentation: no_proxy_merge.yml, no_proxy_hosts.yml and env_file_update.yml next to this file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.kaapana.platform.plugins.plugin_utils import proxy_env


def no_proxy_merge(user_list, hosts=None, pod_cidr=proxy_env.DEFAULT_POD_CIDR,
                   service_cidr=proxy_env.DEFAULT_SERVICE_CIDR, domains=proxy_env.DEFAULT_DOMAINS, extra=None,
                   names=None):
    try:
        return proxy_env.merge_no_proxy(user_list, hosts=hosts, pod_cidr=pod_cidr, service_cidr=service_cidr,
                                        domains=domains, extra=extra, names=names)
    except proxy_env.ProxyEnvError as exc:
        raise AnsibleFilterError(str(exc))


def no_proxy_hosts(hostvars, names):
    return proxy_env.node_hosts(hostvars, names)


def env_file_update(content, variables):
    try:
        return proxy_env.update_env_file(content, variables)
    except proxy_env.ProxyEnvError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    """kaapana.platform proxy filters."""

    def filters(self):
        return {
            'no_proxy_merge': no_proxy_merge,
            'no_proxy_hosts': no_proxy_hosts,
            'env_file_update': env_file_update,
        }
