#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: helm_pull
short_description: Pull a Helm chart archive from an OCI registry, a repository or a URL
version_added: 0.2.0
author:
  - kaapana.platform maintainers (@kaapana)
description:
  - Pulls one chart with C(helm pull) into O(destination) and returns the archive's path, name, version and OCI
    digest, the way M(kaapana.platform.helm_release) fetches a chart. The registry login (O(registry)) goes to a
    private helm registry configuration removed when the module ends, transient network errors are retried
    (O(pull_retries)) and a failure is explained (not found, credentials refused, registry unreachable).
  - Registry credentials and a proxy (O(proxy_environment)) reach helm through the module's arguments and helm's
    standard input and environment, never through a command line.
  - Works with Helm 3.13 or newer and Helm 4.
options:
  chart_ref:
    description:
      - The chart. V(oci://host[:port]/path/chart), V(repo/chart) for a repository added with C(helm repo add),
        a chart name together with O(repo_url), or an http(s) URL of a packaged chart. A local chart is refused
        (there is nothing to pull).
    type: str
    required: true
  destination:
    description:
      - Existing directory the archive is written to (C(<name>-<version>.tgz), mode 0600).
    type: path
    required: true
extends_documentation_fragment:
  - kaapana.platform.k8s_auth
  - kaapana.platform.helm_common
  - kaapana.platform.helm_chart_source
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: In check mode nothing is pulled; the result says the archive would be written.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - O(kubeconfig) and O(context) are accepted for symmetry with the other Helm modules; C(helm pull) does not use
    the cluster.
seealso:
  - module: kaapana.platform.helm_release
"""

EXAMPLES = r"""
- name: Pull Kaapana's platform chart into a private folder
  kaapana.platform.helm_pull:
    chart_ref: oci://registry.example.org/kaapana/kaapana-admin-chart
    chart_version: 0.6.1
    destination: "{{ chart_dir.path }}"
    registry:
      username: "{{ registry_user }}"
      password: "{{ registry_password }}"
    proxy_environment:
      HTTPS_PROXY: http://proxy.example.org:3128
      NO_PROXY: localhost,127.0.0.1
  register: platform_chart
"""

RETURN = r"""
path:
  description: The archive written to O(destination); V(null) in check mode.
  returned: always
  type: str
  sample: /tmp/kaapana-chart-x1/kaapana-admin-chart-0.6.1.tgz
chart_name:
  description: Name of the pulled chart (from its C(Chart.yaml)).
  returned: unless in check mode
  type: str
  sample: kaapana-admin-chart
chart_version:
  description: Version of the pulled chart.
  returned: unless in check mode
  type: str
  sample: 0.6.1
oci_digest:
  description: Digest of the chart as the OCI registry reported it; V(null) for other sources.
  returned: unless in check mode
  type: str
  sample: sha256:0f1e...
commands:
  description: The helm commands run, secrets masked.
  returned: always
  type: list
  elements: str
helm_version:
  description: The version of O(helm_binary), as C(helm version) prints it.
  returned: when helm was run
  type: str
  sample: v4.3.2
helm_major:
  description: The major version of O(helm_binary) (3 or 4).
  returned: when helm was run
  type: int
  sample: 4
"""

import os
import shutil

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.kaapana.platform.plugins.module_utils.helm_args import (
    helm_chart_source_argument_spec,
    helm_common_argument_spec,
)
from ansible_collections.kaapana.platform.plugins.module_utils.helm_chart import chart_source
from ansible_collections.kaapana.platform.plugins.module_utils.helm_commands import HelmRunner
from ansible_collections.kaapana.platform.plugins.module_utils.helm_errors import HelmError
from ansible_collections.kaapana.platform.plugins.module_utils.helm_manager import ReleaseManager
from ansible_collections.kaapana.platform.plugins.module_utils.helm_values import HAS_YAML, YAML_IMPORT_ERROR


def argument_spec():
    spec = helm_common_argument_spec()
    spec.update(chart_ref=dict(type="str", required=True), destination=dict(type="path", required=True))
    spec.update(helm_chart_source_argument_spec())
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    params = module.params
    password = (params.get("registry") or {}).get("password")
    if password:
        module.no_log_values.add(password)
    if chart_source(params["chart_ref"], params.get("repo_url")) == "local":
        module.fail_json(msg="chart_ref %s is a local chart: there is nothing to pull" % params["chart_ref"])
    if not os.path.isdir(params["destination"]):
        module.fail_json(msg="destination %s is not an existing directory" % params["destination"])
    if module.check_mode:
        module.exit_json(changed=True, path=None, commands=[])

    runner = None
    try:
        runner = HelmRunner(module, params["helm_binary"], params.get("kubeconfig"), params.get("context"),
                            secrets=[password], proxy_environment=params["proxy_environment"])
        manager = ReleaseManager(module, runner, params)
        chart = manager.resolve_chart()
    except HelmError as exc:
        module.fail_json(msg=exc.msg, commands=runner.commands if runner else [],
                         **dict(runner.version_info() if runner else {}, **exc.extra))
    target = os.path.join(params["destination"], os.path.basename(chart["path"]))
    shutil.copyfile(chart["path"], target)
    os.chmod(target, 0o600)
    for warning in manager.warnings:
        module.warn(warning)
    module.exit_json(changed=True, path=target, chart_name=chart["name"], chart_version=chart["version"],
                     oci_digest=chart.get("oci_digest"), commands=runner.commands, **runner.version_info())


if __name__ == "__main__":
    main()
