# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Unit tests of chart values in plugins/module_utils/helm_values.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.kaapana.platform.plugins.module_utils import helm_errors, helm_values


def test_deep_merge_is_recursive_and_pure():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    over = {"a": {"b": 2, "e": 3}, "d": {"x": 1}}
    merged = helm_values.deep_merge(base, over)
    assert merged == {"a": {"b": 2, "c": [1, 2], "e": 3}, "d": {"x": 1}}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}


def test_merge_values_files_in_order_then_values():
    files = [{"g": {"a": 1, "b": 1}, "l": [1]}, {"g": {"b": 2}, "l": [2, 3]}]
    assert helm_values.merge_values(files, {"g": {"c": 3}, "x": None}) == {"g": {"a": 1, "b": 2, "c": 3}, "l": [2, 3], "x": None}
    assert helm_values.merge_values([], None) == {}


def test_load_values_file(tmp_path):
    good = tmp_path / "v.yaml"
    good.write_text("global:\n  date: 2026-01-02\n  flag: yes\n  n: 1.0\n")
    data = helm_values.load_values_file(str(good))
    # like helm: dates stay strings; YAML 1.1 booleans
    assert data == {"global": {"date": "2026-01-02", "flag": True, "n": 1.0}}
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert helm_values.load_values_file(str(empty)) == {}


@pytest.mark.parametrize("content", ["- a\n- b\n", "just a string\n", "42\n"])
def test_values_file_must_be_mapping(tmp_path, content):
    path = tmp_path / "v.yaml"
    path.write_text(content)
    with pytest.raises(helm_errors.HelmError) as exc:
        helm_values.load_values_file(str(path))
    assert exc.value.msg.startswith("values_files:") and "mapping" in exc.value.msg


def test_values_file_missing_or_broken(tmp_path):
    with pytest.raises(helm_errors.HelmError, match="values_files: .* does not exist"):
        helm_values.load_values_file(str(tmp_path / "nope.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(helm_errors.HelmError, match="values_files: .* not valid YAML"):
        helm_values.load_values_file(str(bad))


def test_values_option_must_be_mapping():
    assert helm_values.check_values_mapping(None) == {}
    with pytest.raises(helm_errors.HelmError, match="^values must be a mapping"):
        helm_values.check_values_mapping(["a"])


def test_normalize_json():
    assert helm_values.normalize_json({1: 2.0, "b": [1.5, True, None], "c": (1,)}) == {"1": 2, "b": [1.5, True, None], "c": [1]}
    assert helm_values.normalize_json(True) is True
