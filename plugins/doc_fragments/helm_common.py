# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Options shared by the Helm modules of kaapana.platform, on top of kaapana.platform.k8s_auth."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    # helm_binary and how the cluster options reach helm. Used together with kaapana.platform.k8s_auth
    # (``extends_documentation_fragment: [kaapana.platform.k8s_auth, kaapana.platform.helm_common]``), which
    # documents kubeconfig and context: the text is not repeated here.
    DOCUMENTATION = r"""
options:
  helm_binary:
    description:
      - The helm 3 executable, a name looked up in E(PATH) or a path.
      - The environment of the task (E(NO_PROXY), E(HELM_REGISTRY_CONFIG), E(HELM_CACHE_HOME), ...) is passed on to helm.
    type: str
    default: helm
notes:
  - O(kubeconfig) is passed to helm as E(KUBECONFIG) and O(context) as E(HELM_KUBECONTEXT).
requirements:
  - helm 3 CLI, 3.13 or newer (Helm 4 is not supported).
"""
