# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Filters for the platform role: adapters of plugin_utils/platform.py (the chart values from a settings dict, the
layout, the memory split, the input checks, the CoreDNS rewrite and the masking of secrets) and plugin_utils/upgrade.py
(the upgrade plan, the migration chart's values), which turn their errors into AnsibleFilterError. The role's values
come from the kaapana.platform.platform_plan action.
Documentation: platform_*.yml next to this file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools

from ansible.errors import AnsibleFilterError

from ansible_collections.kaapana.platform.plugins.plugin_utils import platform, upgrade


def _filter(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (platform.PlatformError, upgrade.UpgradeError) as error:
            raise AnsibleFilterError(str(error))
    return wrapper


platform_values = _filter(platform.platform_values)
platform_upgrade_plan = _filter(upgrade.upgrade_plan)
platform_migration_values = _filter(upgrade.migration_values)
platform_layout = _filter(platform.platform_layout)
platform_memory = _filter(platform.platform_memory)
platform_internal_cidrs = _filter(platform.platform_internal_cidrs)
platform_domain_check = _filter(platform.platform_domain_check)
platform_instance_uid_check = _filter(platform.platform_instance_uid_check)
platform_mask_secrets = _filter(platform.platform_mask_secrets)
platform_coredns_rewrite = _filter(platform.platform_coredns_rewrite)
platform_chart_reference = _filter(platform.platform_chart_reference)
platform_image_count = _filter(platform.platform_image_count)
platform_chart_contents = _filter(platform.platform_chart_contents)
platform_preinstall_status = _filter(platform.preinstall_status)


class FilterModule(object):
    def filters(self):
        return {
            "platform_values": platform_values,
            "platform_layout": platform_layout,
            "platform_memory": platform_memory,
            "platform_internal_cidrs": platform_internal_cidrs,
            "platform_domain_check": platform_domain_check,
            "platform_instance_uid_check": platform_instance_uid_check,
            "platform_mask_secrets": platform_mask_secrets,
            "platform_coredns_rewrite": platform_coredns_rewrite,
            "platform_chart_reference": platform_chart_reference,
            "platform_image_count": platform_image_count,
            "platform_chart_contents": platform_chart_contents,
            "platform_preinstall_status": platform_preinstall_status,
            "platform_upgrade_plan": platform_upgrade_plan,
            "platform_migration_values": platform_migration_values,
        }
