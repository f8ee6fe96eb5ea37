# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Unit tests of the option checks and argument spec in plugins/module_utils/helm_args.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.kaapana.platform.plugins.module_utils import helm_args


@pytest.mark.parametrize("namespace", ["default", "kaapana-system", "a", "a1-b2", "x" * 63])
def test_valid_namespaces(namespace):
    assert helm_args.validate_namespace(namespace) is None


@pytest.mark.parametrize("namespace", ["", "Default", "-a", "a-", "a_b", "a.b", "x" * 64, "ns/evil", None])
def test_invalid_namespaces_name_the_option(namespace):
    msg = helm_args.validate_namespace(namespace)
    assert msg and msg.startswith("namespace")


def test_release_names():
    assert helm_args.validate_release_name("kaapana-admin-chart") is None
    assert helm_args.validate_release_name("a.b-c") is None
    assert "name" in helm_args.validate_release_name("Bad_Name")
    assert helm_args.validate_release_name("x" * 54)


@pytest.mark.parametrize("given,expected", [
    (None, None), (300, "300s"), ("300", "300s"), ("5m", "5m"), ("1h30m", "1h30m"), ("5m30s", "5m30s"), ("1.5h", "1.5h"),
])
def test_timeout_normalized(given, expected):
    assert helm_args.normalize_timeout(given) == (expected, None)


@pytest.mark.parametrize("given", ["5 minutes", "-1", "m5", "10x"])
def test_bad_timeout_names_option(given):
    value, err = helm_args.normalize_timeout(given)
    assert value is None and err.startswith("timeout")


def test_argument_specs():
    spec = helm_args.helm_common_argument_spec()
    assert set(spec) == {"kubeconfig", "context", "helm_binary", "proxy_environment"}
    # a proxy URL may hold a password: the option is never logged
    assert spec["proxy_environment"]["type"] == "dict" and spec["proxy_environment"]["no_log"] is True
    assert spec["kubeconfig"]["type"] == "path"
    assert spec["context"]["type"] == "str" and spec["helm_binary"]["default"] == "helm"
