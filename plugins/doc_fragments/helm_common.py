# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Options shared by the Helm modules of kaapana.platform."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    # kubeconfig / context (same text as kaapana.platform.k8s_auth) and helm_binary.
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to the kubeconfig file used to reach the cluster, read on the host the module runs on.
      - When not set, the environment variable E(K8S_AUTH_KUBECONFIG) is used; when that is not set either,
        the default of the client applies (E(KUBECONFIG), then C(~/.kube/config)).
      - Passed to helm as E(KUBECONFIG).
    type: path
  context:
    description:
      - Name of the context in O(kubeconfig) to use.
      - When not set, the environment variable E(K8S_AUTH_CONTEXT) is used; otherwise the current context of the
        kubeconfig.
      - Passed to helm as E(HELM_KUBECONTEXT).
    type: str
  helm_binary:
    description:
      - The helm 3 executable, a name looked up in E(PATH) or a path.
      - The environment of the task (E(NO_PROXY), E(HELM_REGISTRY_CONFIG), E(HELM_CACHE_HOME), ...) is passed on to helm.
    type: str
    default: helm
requirements:
  - helm 3 CLI, 3.13 or newer (Helm 4 is not supported).
"""
