#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: helm_release
short_description: Install, upgrade, recover and uninstall a Helm release, idempotently and without plugins
version_added: 0.1.0
author:
  - kaapana.platform maintainers (@kaapana)
description:
  - Manages one Helm release with the helm CLI (Helm 3.13 or newer, or Helm 4), from an OCI registry (V(oci://...)), a
    chart repository, an http(s) URL or a local chart directory or C(.tgz) on the host the module runs on.
  - B(Helm 3 and Helm 4.) The module reads the version of O(helm_binary) once per run (C(helm version)), returns it
    (RV(helm_version), RV(helm_major)) and uses the flags of that major; see the notes of the options O(wait),
    O(atomic) and O(server_side), and the C(helm_common) notes, for what differs.
  - B(Idempotency without helm-diff.) The module reads the newest revision of the release with one
    C(helm get all --template) call (status, revision, chart metadata, the user-supplied values, the chart content
    helm stored and the rendered manifest; C(helm status -o json) leaves the chart out and C(helm get values) would
    be a second call). A remote chart is fetched once with C(helm pull) into a temporary directory and that archive
    is used for install, upgrade and template; a local chart is read in Python.
    The desired state is then compared with the deployed release - chart name, version and appVersion, a content
    digest over the chart's templates, files and C(values.schema.json) (exactly what helm stores in the release),
    the chart's default values when it has no dependencies, and the fully merged user values (O(values_files),
    then O(values)) against the release's user-supplied values. C(helm upgrade) runs only on a real difference.
    A no-op run therefore makes two helm calls for a remote chart (C(get all), C(pull)) and one for a local chart,
    after the C(helm version) every run starts with.
  - The content digest covers the parent chart only, because helm does not store the content of subcharts in the
    release; a changed subchart is detected through the version it has in C(Chart.yaml) or the parent chart's
    version. Re-pushing a different chart under the same OCI tag is detected when its templates or files changed.
  - B(Recovery.) A release in C(pending-install) (or stuck in C(uninstalling)) is uninstalled and installed again.
    A release in C(pending-upgrade) or C(pending-rollback) is rolled back to its last deployed revision first (to
    itself when no earlier deployed revision is left), then upgraded if it still differs. A C(failed) release is
    upgraded, or with O(atomic=true) rolled back to its last deployed revision first. The result says in
    RV(recovered) what was done.
  - B(Registry login.) With O(registry), C(helm registry login --password-stdin) runs before the pull, into a
    registry configuration that lives only as long as the module run, so no credential is left on the host. The
    password never appears on the command line, in RV(commands), in messages or in a file that outlives the run.
  - Check mode makes no change (it still reads the release and pulls the chart) and reports in RV(changes) what
    would be done. Diff mode shows the values diff and the manifest diff (C(helm template) of the desired chart
    against the manifest of the deployed release, which is what C(helm get manifest) prints) when something changes.
options:
  name:
    description:
      - Release name (at most 53 characters, lower-case letters, digits, C(-) and C(.)).
    type: str
    required: true
  namespace:
    description:
      - Namespace of the release, a DNS-1123 label. It is checked before any helm command runs.
    type: str
    required: true
  state:
    description:
      - V(present) installs, upgrades or recovers the release; V(absent) uninstalls it.
    type: str
    choices: [present, absent]
    default: present
  chart_ref:
    description:
      - The chart. V(oci://host[:port]/path/chart), V(repo/chart) for a repository added with C(helm repo add),
        a chart name together with O(repo_url), an http(s) URL of a packaged chart, or a path to a chart directory
        or C(.tgz) on the host the module runs on.
      - Required when O(state=present).
    type: str
  values:
    description:
      - Chart values, a mapping. Deep-merged on top of O(values_files) and passed to helm as one values file.
      - Shown in diff mode; use C(no_log) on the task when they hold secrets.
    type: dict
    default: {}
  values_files:
    description:
      - YAML values files, read on the host the module runs on and deep-merged in order (later files win), before
        O(values). Each must contain a mapping.
    type: list
    elements: path
    default: []
  upgrade:
    description:
      - V(false) makes the module install-only. A deployed release is never upgraded; differences are reported in
        RV(changes) with RV(drift=true) and a warning, and the task reports no change. Recovery of pending or
        failed releases still happens.
    type: bool
    default: true
  create_namespace:
    description:
      - Create O(namespace) on install (C(--create-namespace)).
    type: bool
    default: false
  wait:
    description:
      - Wait for the resources to become ready on install, upgrade, rollback and uninstall.
      - Helm 3 gets C(--wait) (its readiness checks of pods, PVCs, services and workloads). Helm 4 gets
        C(--wait=watcher), what a bare C(--wait) means there; it waits until the resources report ready in their
        status (kstatus), which also covers custom resources and differs from Helm 3 in corner cases.
    type: bool
    default: false
  timeout:
    description:
      - Time helm waits for Kubernetes operations and hooks, passed as C(--timeout) to install, upgrade, rollback
        and uninstall. Seconds (V(300)) or a Go duration (V(300s), V(10m), V(1h30m)). Helm's default is 5m0s.
    type: str
  atomic:
    description:
      - Roll back a failed install or upgrade (implies waiting), and roll a C(failed) release back to its last
        deployed revision before upgrading it.
      - Helm 3 gets C(--atomic), Helm 4 its new name C(--rollback-on-failure).
    type: bool
    default: false
  server_side:
    description:
      - How Helm 4 applies the resources on install, upgrade and rollback (C(--server-side)).
      - V(auto) passes nothing, so helm decides. Helm 4 installs a new release with server-side apply and upgrades
        or rolls back a release the way it was applied before, so a release first installed by Helm 3 (client-side)
        stays client-side, and one installed by Helm 4 stays server-side. A release installed again after an
        uninstall is a new release, applied server-side.
      - V(true) or V(false) forces server-side or client-side apply (C(--server-side=true|false)). With server-side
        apply the API server refuses changes to fields another field manager (for example C(kubectl edit)) owns; the
        module then fails saying so.
      - Helm 3 always applies client-side; V(false) and V(auto) are accepted with it, V(true) fails.
    type: str
    choices: [auto, "true", "false"]
    default: auto
  no_hooks:
    description:
      - Do not run chart hooks on install, upgrade, rollback and uninstall (C(--no-hooks)).
    type: bool
    default: false
  keep_history:
    description:
      - Keep the release history on uninstall (C(--keep-history)); the release stays listed as C(uninstalled).
    type: bool
    default: false
extends_documentation_fragment:
  - kaapana.platform.k8s_auth
  - kaapana.platform.helm_common
  - kaapana.platform.helm_chart_source
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - Values are compared as helm stores them. Use the types the chart expects (V("1") and V(1) differ).
  - The manifest diff is rendered client-side with C(helm template --no-hooks), so charts that use C(lookup),
    random functions or cluster capabilities may show differences there that the comparison does not count.
  - Credentials for chart repositories (not OCI registries) are not handled; add the repository with
    C(helm repo add) first.
seealso:
  - module: kaapana.platform.helm_release_info
"""

EXAMPLES = r"""
- name: Deploy the Kaapana admin chart from an authenticated plain-HTTP OCI registry
  kaapana.platform.helm_release:
    name: kaapana-admin-chart
    namespace: default
    chart_ref: oci://registry.example.org:5000/kaapana/kaapana-admin-chart
    chart_version: 0.6.0
    plain_http: true
    registry:
      username: "{{ registry_user }}"
      password: "{{ registry_password }}"
    values:
      global:
        hostname: kaapana.example.org
        fast_data_dir: /home/kaapana
    timeout: 15m
  no_log: true

- name: Install Longhorn once, never upgrade it from here
  kaapana.platform.helm_release:
    name: longhorn
    namespace: longhorn-system
    create_namespace: true
    chart_ref: longhorn
    repo_url: https://charts.longhorn.io
    chart_version: 1.10.1
    upgrade: false
    values:
      csi:
        kubeletRootDir: /var/snap/microk8s/common/var/lib/kubelet

- name: Local chart with values files from the host
  kaapana.platform.helm_release:
    name: kaapana-storageclass
    namespace: kaapana-system
    create_namespace: true
    chart_ref: /opt/kaapana/kaapana-storage-chart
    values_files:
      - /etc/kaapana/storage-values.yaml
    wait: true

- name: Undeploy without running the pre-delete hooks, waiting at most 5m30s
  kaapana.platform.helm_release:
    name: kaapana-admin-chart
    namespace: default
    state: absent
    no_hooks: true
    wait: true
    timeout: 5m30s
"""

RETURN = r"""
name:
  description: Release name.
  returned: always
  type: str
  sample: kaapana-admin-chart
namespace:
  description: Release namespace.
  returned: always
  type: str
  sample: default
status:
  description:
    - Status of the release after the task (before it in check mode), as helm reports it, for example
      V(deployed), V(failed), V(pending-upgrade), V(uninstalled). V(null) when there is no release.
  returned: always
  type: str
  sample: deployed
revision:
  description: Release revision. V(null) when there is no release.
  returned: always
  type: int
  sample: 3
chart:
  description: Chart name of the release.
  returned: always
  type: str
  sample: kaapana-admin-chart
chart_version:
  description: Chart version of the release.
  returned: always
  type: str
  sample: 0.6.0
app_version:
  description: appVersion of the release's chart.
  returned: always
  type: str
  sample: 0.6.0
recovered:
  description:
    - What was done to recover a release that was pending, stuck uninstalling or failed; V(null) when nothing was.
  returned: always
  type: str
  sample: "pending-upgrade: rolled back revision 4 to last deployed revision 3"
changes:
  description:
    - What differs between the desired state and the release, or the actions taken (would be taken in check mode).
  returned: always
  type: list
  elements: str
  sample: ["values differ from the deployed user-supplied values"]
drift:
  description: V(true) when O(upgrade=false) left differences in place.
  returned: always
  type: bool
  sample: false
chart_digest:
  description:
    - Content digest of the desired chart (templates, files, values.schema.json) that was compared with the release.
  returned: when O(state=present)
  type: str
  sample: sha256:7d1f0c6c7c3b0f1f5c0b4a8b5e5b8c1f0a0e5b2d2f7a9c3e4b6d8f0a1c2e3f4a
oci_digest:
  description: OCI manifest digest helm printed when pulling the chart.
  returned: when the chart came from an OCI registry
  type: str
  sample: sha256:0a4b1f4e9e5a3c2d1b0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b
helm_version:
  description: The version of O(helm_binary), as C(helm version) prints it.
  returned: when the helm version was read (always, except when the options are invalid)
  type: str
  sample: v4.3.2
helm_major:
  description: The major version of O(helm_binary) (3 or 4), which decided the flags.
  returned: when the helm version was read (always, except when the options are invalid)
  type: int
  sample: 4
commands:
  description: Every helm command that ran, in order, with secrets masked.
  returned: always
  type: list
  elements: str
  sample:
    - helm version --template {{.Version}}
    - helm get all kaapana-admin-chart --namespace default --template '<release-template>'
    - helm pull oci://registry.example.org:5000/kaapana/kaapana-admin-chart --destination /tmp/x --version 0.6.0 --plain-http
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.kaapana.platform.plugins.module_utils.helm_args import (
    helm_chart_source_argument_spec,
    helm_common_argument_spec,
)
from ansible_collections.kaapana.platform.plugins.module_utils.helm_commands import HelmRunner
from ansible_collections.kaapana.platform.plugins.module_utils.helm_errors import HelmError
from ansible_collections.kaapana.platform.plugins.module_utils.helm_manager import ReleaseManager
from ansible_collections.kaapana.platform.plugins.module_utils.helm_values import HAS_YAML, YAML_IMPORT_ERROR


def argument_spec():
    spec = helm_common_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        namespace=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        chart_ref=dict(type="str"),
        values=dict(type="dict", default={}),
        values_files=dict(type="list", elements="path", default=[]),
        upgrade=dict(type="bool", default=True),
        create_namespace=dict(type="bool", default=False),
        wait=dict(type="bool", default=False),
        timeout=dict(type="str"),
        atomic=dict(type="bool", default=False),
        server_side=dict(type="str", default="auto", choices=["auto", "true", "false"]),
        no_hooks=dict(type="bool", default=False),
        keep_history=dict(type="bool", default=False),
    )
    spec.update(helm_chart_source_argument_spec())
    return spec


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        required_if=[("state", "present", ["chart_ref"])],
        supports_check_mode=True,
    )
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    registry = module.params.get("registry") or {}
    password = registry.get("password")
    if password:
        module.no_log_values.add(password)
    runner = None
    try:
        runner = HelmRunner(module, module.params["helm_binary"], module.params.get("kubeconfig"),
                            module.params.get("context"), secrets=[password],
                            proxy_environment=module.params["proxy_environment"])
        manager = ReleaseManager(module, runner, module.params, check_mode=module.check_mode,
                                 diff_mode=module._diff)
        result = manager.run()
    except HelmError as exc:
        module.fail_json(msg=exc.msg, commands=runner.commands if runner else [],
                         **dict(runner.version_info() if runner else {}, **exc.extra))
    for warning in manager.warnings:
        module.warn(warning)
    result["commands"] = runner.commands
    result.update(runner.version_info())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
