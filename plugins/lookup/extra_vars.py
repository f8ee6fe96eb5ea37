# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""The names of the variables given to this run as extra variables."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: extra_vars
author: kaapana.platform maintainers (@kaapana)
version_added: 0.1.0
short_description: Names of the variables given as extra variables of this run
description:
  - Returns the names of the variables given with C(-e)/C(--extra-vars) (inline, JSON or C(@file)), which is also
    how ansible-runner and AWX pass a survey's answers and a job's extra variables.
  - The roles use it to tell a purge confirmed for this run from purge variables left in the inventory.
options: {}
"""

EXAMPLES = r"""
- name: Purge only when the purge variables were given for this run
  ansible.builtin.debug:
    msg: "{{ 'kaapana_purge_data' in query('kaapana.platform.extra_vars') }}"
"""

RETURN = r"""
_raw:
  description: The names, sorted.
  type: list
  elements: str
"""

from ansible.plugins.lookup import LookupBase
from ansible.utils.vars import load_extra_vars


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        return sorted(load_extra_vars(self._loader))
