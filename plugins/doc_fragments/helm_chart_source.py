# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Where a chart comes from: the options kaapana.platform.helm_release and helm_pull share to fetch one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    # chart_version, repo_url, plain_http, pull_retries and registry (helm_args.helm_chart_source_argument_spec).
    # chart_ref itself is documented by each module: what it may name differs.
    DOCUMENTATION = r"""
options:
  chart_version:
    description:
      - Chart version (C(--version)). Without it the newest version is used (remote charts).
      - For a local chart it must match the version in its C(Chart.yaml).
    type: str
  repo_url:
    description:
      - Chart repository URL for a plain chart name in O(chart_ref) (C(helm pull --repo)).
    type: str
  plain_http:
    description:
      - Use plain HTTP for the OCI registry (C(--plain-http) on C(helm pull) and C(helm registry login)).
    type: bool
    default: false
  pull_retries:
    description:
      - How many times C(helm pull) and C(helm registry login) are tried again when the chart source cannot be
        reached (connection refused or reset, timeouts, HTTP 5xx), waiting 2, 4, 8... seconds (at most 30) in
        between. Errors that a retry cannot cure (not found, unauthorized) fail at once.
    type: int
    default: 3
  registry:
    description:
      - Credentials for the OCI registry of O(chart_ref), used for this run only. Each run logs in (password on
        standard input) to a helm registry configuration in the module's private temporary directory, removed
        when the module ends, so the credentials are never stored on the host (helm would otherwise keep them,
        base64-encoded, in C(~/.config/helm/registry/config.json)). Without this option helm uses the registry
        configuration it finds (E(HELM_REGISTRY_CONFIG) or its default).
    type: dict
    suboptions:
      username:
        description:
          - Registry user name.
        type: str
      password:
        description:
          - Registry password or token; given to helm on stdin only.
        type: str
      host:
        description:
          - Registry host[:port] to log in to. Defaults to the host of O(chart_ref).
        type: str
"""
