# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Unit tests of plugins/module_utils/k8s_names.py (the collection's one DNS-1123 check)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.kaapana.platform.plugins.module_utils.k8s_names import is_dns1123_label, is_dns1123_subdomain


@pytest.mark.parametrize("value", ["a", "kaapana", "a-b", "0", "x" * 63, "9services"])
def test_labels(value):
    assert is_dns1123_label(value)


@pytest.mark.parametrize("value", ["", "-a", "a-", "A", "a.b", "a_b", "x" * 64, "abc\n", None, 5, ["a"]])
def test_not_labels(value):
    assert not is_dns1123_label(value)


def test_label_max_length():
    assert is_dns1123_label("x" * 32, max_length=32)
    assert not is_dns1123_label("x" * 33, max_length=32)


@pytest.mark.parametrize("value", ["a", "a.b", "kaapana-longhorn-fast-db", "a-b.c-d", "x" * 253])
def test_subdomains(value):
    assert is_dns1123_subdomain(value)


@pytest.mark.parametrize("value", ["", ".a", "a.", "a..b", "a.-b", "A.b", "x" * 254, "a.b\n", None])
def test_not_subdomains(value):
    assert not is_dns1123_subdomain(value)


def test_subdomain_max_length():
    assert is_dns1123_subdomain("a" * 53, max_length=53)
    assert not is_dns1123_subdomain("a" * 54, max_length=53)
