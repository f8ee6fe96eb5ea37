# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Action of kaapana.platform.platform_plan (documentation: plugins/modules/platform_plan.py): reads the kaapana_*
variables of the play and the main node's host variables, and returns plugin_utils/platform_plan.py's plan. Runs on
the controller only; nothing connects to a host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.kaapana.platform.plugins.plugin_utils import platform, platform_plan


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("main_host", "cluster", "chart"))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        result["changed"] = False
        args = self._task.args
        main_host = args.get("main_host")
        cluster = args.get("cluster")
        chart = args.get("chart")
        hostvars = task_vars.get("hostvars") or {}
        if not main_host or main_host not in hostvars:
            result.update(failed=True, msg="platform_plan: main_host %r is not a host of the inventory" % (main_host,))
            return result
        if cluster is not None and not (isinstance(chart, dict) and "name" in chart and "registry_url" in chart):
            result.update(failed=True, msg="platform_plan: with cluster, chart must be a mapping with name and "
                                           "registry_url (the resolved chart)")
            return result
        # Role defaults may refer to other variables ("{{ kaapana_fast_data_dir }}"): template each one.
        variables = dict((name, self._templar.template(task_vars[name]))
                         for name in platform_plan.VARIABLES if name in task_vars)
        main_vars = hostvars[main_host]
        main = dict((name, main_vars[name]) for name in platform_plan.MAIN_HOST_VARIABLES if name in main_vars)
        try:
            result.update(platform_plan.platform_plan(variables, main, cluster, chart))
        except platform.PlatformError as error:
            result.update(failed=True, msg=str(error))
        return result
