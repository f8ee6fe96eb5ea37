# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Chart values: YAML read the way helm reads it, values_files and values merged like helm merges -f files,
and values normalized so that helm's JSON and Python values compare equal."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os
import traceback

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.common.text.converters import to_native, to_text

from ansible_collections.kaapana.platform.plugins.module_utils.helm_errors import HelmError


try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    yaml = None
    HAS_YAML = False
    YAML_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_YAML = True
    YAML_IMPORT_ERROR = None


def deep_merge(base, override):
    """Deep-merge two mappings like helm merges -f files: mappings merge, anything else replaces.

    Neither argument is modified.
    """
    result = copy.deepcopy(base) if base else {}
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def merge_values(file_values, values):
    """Merge the contents of ``values_files`` (in order) and then ``values`` on top."""
    merged = {}
    for item in file_values or []:
        merged = deep_merge(merged, item)
    return deep_merge(merged, values or {})


if HAS_YAML:
    class _ValuesLoader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
        """SafeLoader without the timestamp resolver: like helm, dates stay strings."""

    _ValuesLoader.yaml_implicit_resolvers = dict(
        (key, [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"])
        for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    )
else:  # pragma: no cover
    _ValuesLoader = None


def parse_yaml(text):
    """Parse YAML the way the values and Chart.yaml of a chart are parsed (no timestamps)."""
    if not HAS_YAML:
        raise HelmError(missing_required_lib("PyYAML"))
    return yaml.load(text, Loader=_ValuesLoader)  # nosec B506 - SafeLoader subclass


def load_values_file(path):
    """Read one ``values_files`` entry on the module host; the result must be a mapping."""
    if not os.path.isfile(path):
        raise HelmError("values_files: %s does not exist or is not a file" % path)
    try:
        with open(path, "rb") as handle:
            data = parse_yaml(handle.read())
    except HelmError:
        raise
    except Exception as exc:  # yaml errors, decoding errors
        raise HelmError("values_files: %s is not valid YAML: %s" % (path, to_native(exc)))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise HelmError("values_files: %s must contain a mapping at the top level, not a %s"
                        % (path, type(data).__name__))
    return data


def check_values_mapping(values):
    """The ``values`` option must be a mapping (Ansible passes the raw value through)."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise HelmError("values must be a mapping (dict) of chart values, not a %s" % type(values).__name__)
    return values


def normalize_json(value):
    """Normalize a decoded YAML/JSON value so that helm's JSON and Python values compare equal.

    Keys become strings, integral floats become ints (Go writes float64(3) as ``3``), tuples lists.
    """
    if isinstance(value, dict):
        return dict((to_text(k), normalize_json(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [normalize_json(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (bytes, bytearray)):
        return to_text(value)
    return value


def values_to_text(values):
    """Human-readable, stable rendering of values for diffs."""
    if HAS_YAML:
        return yaml.safe_dump(values or {}, default_flow_style=False, sort_keys=True)
    return json.dumps(values or {}, indent=2, sort_keys=True) + "\n"  # pragma: no cover


def pick_values(values, keys):
    """The values at dotted ``keys`` (``global.instance_uid``); a key that is missing maps to None."""
    picked = {}
    for key in keys:
        node = values
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        picked[key] = node
    return picked
