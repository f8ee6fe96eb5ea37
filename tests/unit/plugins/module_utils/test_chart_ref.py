# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Unit tests of plugins/module_utils/chart_ref.py (the collection's one chart-reference parser)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.kaapana.platform.plugins.module_utils.chart_ref import chart_ref_scheme, parse_oci_ref


@pytest.mark.parametrize("ref, scheme", [
    ("oci://h/c", "oci"), ("https://x/c-1.tgz", "https"), ("http://x/c-1.tgz", "http"), ("OCI://h/c", "OCI"),
    ("repo/c", ""), ("./c.tgz", ""), ("/abs/c", ""), ("", ""), (None, ""),
])
def test_chart_ref_scheme(ref, scheme):
    assert chart_ref_scheme(ref) == scheme


def test_parse_oci_ref():
    ref = parse_oci_ref("oci://10.89.0.1:5000/charts/kaapana-admin-chart")
    assert ref == {"host": "10.89.0.1:5000", "registry": "10.89.0.1:5000/charts", "name": "kaapana-admin-chart",
                   "tag": "", "digest": ""}
    assert parse_oci_ref("oci://h/a/b:1.0.0")["name"] == "b"
    assert parse_oci_ref("oci://h/a/b:1.0.0")["tag"] == "1.0.0"
    assert parse_oci_ref("oci://h/a/b:1.0.0@sha256:00")["digest"] == "sha256:00"


def test_parse_oci_ref_without_scheme_like_kaapanactl():
    ref = parse_oci_ref("registry.example.org/kaapana/kaapana-admin-chart:0.6.0")
    assert (ref["registry"], ref["name"], ref["tag"]) == ("registry.example.org/kaapana", "kaapana-admin-chart", "0.6.0")
    ref = parse_oci_ref("registry.example.org:5000/kaapana-admin-chart")
    assert (ref["host"], ref["registry"], ref["name"], ref["tag"]) == \
        ("registry.example.org:5000", "registry.example.org:5000", "kaapana-admin-chart", "")


def test_parse_oci_ref_without_path():
    assert parse_oci_ref("oci://h") == {"host": "h", "registry": "", "name": "h", "tag": "", "digest": ""}
    assert parse_oci_ref("") == {"host": "", "registry": "", "name": "", "tag": "", "digest": ""}
