# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Filters for the data-safety rules of deploy, undeploy and purge. The logic lives in
plugin_utils/data_safety.py. Documentation: data_dirs_check.yml, purge_decision.yml, instance_releases.yml and
longhorn_volumes_kept.yml next to this file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kaapana.platform.plugins.plugin_utils import data_safety


def data_dirs_check(dirs):
    return data_safety.data_dirs_problems(dirs)


def purge_decision(purge_data, purge_confirm, instance_name, from_inventory=None):
    return data_safety.purge_decision(purge_data, purge_confirm, instance_name, from_inventory or [])


def instance_releases(releases, platform_name, instance_uid="", helm_namespace="default"):
    return data_safety.instance_releases(releases, platform_name, instance_uid, helm_namespace)


def longhorn_volumes_kept(volumes, purged_namespaces=None):
    return data_safety.longhorn_volumes_kept(volumes, purged_namespaces or [])


class FilterModule(object):
    """kaapana.platform data-safety filters."""

    def filters(self):
        return {
            'data_dirs_check': data_dirs_check,
            'purge_decision': purge_decision,
            'instance_releases': instance_releases,
            'longhorn_volumes_kept': longhorn_volumes_kept,
        }
