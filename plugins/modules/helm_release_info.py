#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: helm_release_info
short_description: List Helm releases in any state, newest first
version_added: 0.1.0
author:
  - kaapana.platform maintainers (@kaapana)
description:
  - Lists Helm releases in every state helm knows (V(deployed), V(failed), V(pending-install), V(pending-upgrade),
    V(pending-rollback), V(uninstalling), V(uninstalled), V(superseded)) with C(helm list -o json), across
    the given namespaces or all of them, filtered by a name regex and by states, newest first.
  - One helm call per namespace in O(namespaces), or a single call across all namespaces.
  - Helm lists the newest revision of each release.
  - Works with Helm 3.13 or newer and Helm 4; the version of O(helm_binary) is read once per run and returned
    (RV(helm_version), RV(helm_major)). Helm 4 has no C(helm list --all), so the module names every state flag
    (C(--deployed --failed --pending --superseded --uninstalled --uninstalling)), which both majors read the same way.
options:
  namespaces:
    description:
      - Namespaces to list. Empty lists all namespaces (C(--all-namespaces)).
    type: list
    elements: str
    default: []
  name:
    description:
      - Regular expression the release name must match (C(helm list --filter), Go regexp syntax), for example
        V(^kaapana-).
    type: str
  states:
    description:
      - Only return releases in these states. Empty returns all.
    type: list
    elements: str
    choices: [deployed, failed, pending-install, pending-upgrade, pending-rollback, uninstalling, uninstalled,
              superseded, unknown]
    default: []
  value_keys:
    description:
      - Dotted keys of the user-supplied values (C(helm get values)) to return for each release, such as
        V(global.instance_uid); one more helm call per release. Only these keys are returned, so secrets among the
        values stay out of the result.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - kaapana.platform.k8s_auth
  - kaapana.platform.helm_common
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: kaapana.platform.helm_release
"""

EXAMPLES = r"""
- name: Releases of the platform that are not healthy, newest first (the undeploy flow)
  kaapana.platform.helm_release_info:
    namespaces: [admin, default]
    states: [failed, pending-install, pending-upgrade, pending-rollback, uninstalling]
  register: broken

- name: Every kaapana release in the cluster
  kaapana.platform.helm_release_info:
    name: ^kaapana-
  register: kaapana_releases

- name: Uninstall them newest first
  kaapana.platform.helm_release:
    name: "{{ item.name }}"
    namespace: "{{ item.namespace }}"
    state: absent
    wait: true
    timeout: 5m30s
  loop: "{{ kaapana_releases.releases }}"
  loop_control:
    label: "{{ item.namespace }}/{{ item.name }}"
"""

RETURN = r"""
releases:
  description: Matching releases, newest first (by last deployment time).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Release name.
      type: str
      sample: kaapana-admin-chart
    namespace:
      description: Release namespace.
      type: str
      sample: default
    revision:
      description: Newest revision.
      type: int
      sample: 2
    status:
      description: Status of the newest revision.
      type: str
      sample: pending-upgrade
    chart:
      description: Chart name.
      type: str
      sample: kaapana-admin-chart
    chart_version:
      description: Chart version.
      type: str
      sample: 0.6.0
    app_version:
      description: appVersion of the chart.
      type: str
      sample: 0.6.0
    updated:
      description: Time of the last deployment, ISO 8601 in UTC.
      type: str
      sample: "2026-11-21T05:50:00.123456+00:00"
    values:
      description: The values at O(value_keys), null where a key is missing.
      returned: when O(value_keys) is not empty
      type: dict
      sample: {"global.release_name": "kaapana-admin-chart", "global.instance_uid": ""}
helm_version:
  description: The version of O(helm_binary), as C(helm version) prints it.
  returned: when the helm version was read (always, except when the options are invalid)
  type: str
  sample: v4.3.2
helm_major:
  description: The major version of O(helm_binary) (3 or 4).
  returned: when the helm version was read (always, except when the options are invalid)
  type: int
  sample: 4
commands:
  description: The helm commands that ran.
  returned: always
  type: list
  elements: str
  sample:
    - helm version --template {{.Version}}
    - helm list --deployed --failed --pending --superseded --uninstalled --uninstalling --max 0 --time-format
      2006-01-02T15:04:05.000000Z07:00 --output json --all-namespaces
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kaapana.platform.plugins.module_utils.helm_args import helm_common_argument_spec
from ansible_collections.kaapana.platform.plugins.module_utils.helm_commands import HelmRunner
from ansible_collections.kaapana.platform.plugins.module_utils.helm_errors import HelmError
from ansible_collections.kaapana.platform.plugins.module_utils.helm_manager import list_releases
from ansible_collections.kaapana.platform.plugins.module_utils.helm_output import RELEASE_STATES


def argument_spec():
    spec = helm_common_argument_spec()
    spec.update(
        namespaces=dict(type="list", elements="str", default=[]),
        name=dict(type="str"),
        states=dict(type="list", elements="str", choices=list(RELEASE_STATES), default=[]),
        value_keys=dict(type="list", elements="str", default=[], no_log=False),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    runner = None
    try:
        runner = HelmRunner(module, module.params["helm_binary"], module.params.get("kubeconfig"),
                            module.params.get("context"),
                            proxy_environment=module.params["proxy_environment"])
        releases = list_releases(runner, namespaces=module.params["namespaces"], name_filter=module.params.get("name"),
                                 states=module.params["states"], value_keys=module.params["value_keys"])
    except HelmError as exc:
        module.fail_json(msg=exc.msg, commands=runner.commands if runner else [],
                         **dict(runner.version_info() if runner else {}, **exc.extra))
    module.exit_json(changed=False, releases=releases, commands=runner.commands, **runner.version_info())


if __name__ == "__main__":
    main()
