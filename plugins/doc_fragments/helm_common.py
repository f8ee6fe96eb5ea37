# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Options shared by the Helm modules of kaapana.platform, on top of kaapana.platform.k8s_auth."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    # helm_binary, the supported helm versions and how the cluster options reach helm. Used together with
    # kaapana.platform.k8s_auth (``extends_documentation_fragment: [kaapana.platform.k8s_auth,
    # kaapana.platform.helm_common]``), which documents kubeconfig and context: the text is not repeated here.
    DOCUMENTATION = r"""
options:
  helm_binary:
    description:
      - The helm executable (Helm 3.13 or newer, or Helm 4), a name looked up in E(PATH) or a path.
      - Its version is read once per run with C(helm version --template {{.Version}}); an older Helm 3, Helm 2 or
        an unknown major fails the task with a message naming this option.
      - The environment of the task (E(NO_PROXY), E(HELM_REGISTRY_CONFIG), E(HELM_CACHE_HOME), ...) is passed on to helm.
    type: str
    default: helm
  proxy_environment:
    description:
      - Proxy variables for helm (C(http_proxy), C(https_proxy), C(no_proxy) and their upper-case forms), added to
        its environment; empty values are left out.
      - Given as an option, not through the task's C(environment), because a task's environment is part of the
        command line that starts the module (visible in C(ps) and at C(-vvv)) and a proxy URL may hold a password.
        The option travels with the module's arguments and is never logged.
    type: dict
    default: {}
notes:
  - O(kubeconfig) is passed to helm as E(KUBECONFIG) and O(context) as E(HELM_KUBECONTEXT).
  - "Helm 3 and Helm 4: the module chooses the flags by the major of O(helm_binary). Helm 4 renamed C(--atomic) to
    C(--rollback-on-failure), turned C(--wait) into a strategy (the module passes C(--wait=watcher)), applies new
    releases server-side (C(--server-side), absent from Helm 3), renamed C(--force) to C(--force-replace) (not used
    by the module) and dropped C(helm list --all) (the module names every state flag instead). The output the modules
    read (C(helm get all --template), C(helm list/history/get values -o json), C(helm install/upgrade -o json)) has
    the same fields in both majors; Helm 4 adds C(apply_method) to a release and words some errors differently
    (C(cannot reuse a name that is still in use)), which the modules recognise."
requirements:
  - helm CLI 3.13 or newer, or helm 4.
"""
