# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""The kubeconfig/context argument spec (doc fragment kaapana.platform.k8s_auth), in a module of
its own so that modules which never load the kubernetes library (the helm ones) can share it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import env_fallback

K8S_AUTH_ARG_SPEC = dict(
    kubeconfig=dict(type='path', fallback=(env_fallback, ['K8S_AUTH_KUBECONFIG'])),
    context=dict(type='str', fallback=(env_fallback, ['K8S_AUTH_CONTEXT'])),
)
