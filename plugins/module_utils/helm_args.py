# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Options of the Helm modules: the argument spec kaapana.platform.helm_release and helm_release_info share
(documented by the k8s_auth and helm_common doc fragments) and the checks of release name, namespace and timeout."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible.module_utils.common.text.converters import to_native, to_text

from ansible_collections.kaapana.platform.plugins.module_utils.k8s_args import K8S_AUTH_ARG_SPEC
from ansible_collections.kaapana.platform.plugins.module_utils.k8s_names import is_dns1123_label, is_dns1123_subdomain


# Helm's own rule (pkg/chartutil/validate_name.go): a DNS-1123 subdomain of at most 53 characters.
RELEASE_NAME_MAX_LENGTH = 53
GO_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|\u00b5s|ms|s|m|h))+$")


def helm_common_argument_spec():
    """kubeconfig / context (doc fragment kaapana.platform.k8s_auth), helm_binary and proxy_environment
    (kaapana.platform.helm_common)."""
    spec = copy.deepcopy(K8S_AUTH_ARG_SPEC)
    spec["helm_binary"] = dict(type="str", default="helm")
    spec["proxy_environment"] = dict(type="dict", default={}, no_log=True)
    return spec


def helm_chart_source_argument_spec():
    """chart_version, repo_url, plain_http, pull_retries and registry (doc fragment kaapana.platform.helm_chart_source)."""
    return dict(
        chart_version=dict(type="str"),
        repo_url=dict(type="str"),
        plain_http=dict(type="bool", default=False),
        pull_retries=dict(type="int", default=3),
        registry=dict(
            type="dict",
            options=dict(
                username=dict(type="str"),
                password=dict(type="str", no_log=True),
                host=dict(type="str"),
            ),
            required_together=[["username", "password"]],
        ),
    )


def validate_namespace(namespace):
    """Return an error message naming the option, or None when the namespace is a DNS-1123 label."""
    if not isinstance(namespace, str) or not namespace:
        return "namespace must be a non-empty string (a DNS-1123 label)"
    if not is_dns1123_label(namespace):
        return ("namespace %r is invalid: it must be a DNS-1123 label (at most 63 characters, lower-case "
                "letters, digits and '-', starting and ending with a letter or digit)" % namespace)
    return None


def validate_release_name(name):
    """Return an error message naming the option, or None when helm accepts the release name."""
    if not isinstance(name, str) or not name:
        return "name must be a non-empty string"
    if not is_dns1123_subdomain(name, max_length=RELEASE_NAME_MAX_LENGTH):
        return ("name %r is not a valid Helm release name: at most 53 characters, lower-case letters, digits, "
                "'-' and '.', starting and ending with a letter or digit" % name)
    return None


def normalize_timeout(timeout):
    """Turn the timeout option into a Go duration for ``--timeout``.

    Plain integers are seconds; Go durations (``300s``, ``5m``, ``1h30m``) pass unchanged.
    Returns ``(duration, error)``.
    """
    if timeout is None:
        return None, None
    text = to_text(timeout).strip()
    if re.match(r"^[0-9]+$", text):
        return text + "s", None
    if GO_DURATION.match(text):
        return text, None
    return None, ("timeout %r is not a duration: give seconds (300) or a Go duration such as 300s, 10m or 1h30m"
                  % to_native(timeout))
