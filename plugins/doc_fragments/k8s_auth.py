# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Cluster connection options shared by the Kubernetes-facing modules of kaapana.platform."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    # kubeconfig / context, used as ``extends_documentation_fragment: [kaapana.platform.k8s_auth]``.
    # Set both once for every module of the collection with
    # ``module_defaults: {group/kaapana.platform.k8s: {kubeconfig: ..., context: ...}}``.
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to the kubeconfig file used to reach the cluster, read on the host the module runs on.
      - When not set, the environment variable E(K8S_AUTH_KUBECONFIG) is used; when that is not set either,
        the default of the client applies (E(KUBECONFIG), then C(~/.kube/config)).
    type: path
  context:
    description:
      - Name of the context in O(kubeconfig) to use.
      - When not set, the environment variable E(K8S_AUTH_CONTEXT) is used; otherwise the current context of the
        kubeconfig.
    type: str
"""
