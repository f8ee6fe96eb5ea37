# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Kubernetes' DNS-1123 name rules, the one check the modules, filters and plugin_utils of the collection share.

A label (namespace names) is lower-case letters, digits and '-', starting and ending with a letter or digit, at
most 63 characters; a subdomain (StorageClass, Secret and Helm release names) is labels joined by '.', at most 253.
The whole value must match: Python's re.match with `$` would let a trailing newline through.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

DNS1123_LABEL_MAX_LENGTH = 63
DNS1123_SUBDOMAIN_MAX_LENGTH = 253

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL = re.compile(_LABEL)
DNS1123_SUBDOMAIN = re.compile(_LABEL + r"(\." + _LABEL + r")*")


def is_dns1123_label(value, max_length=DNS1123_LABEL_MAX_LENGTH):
    """True when ``value`` is a string that is a DNS-1123 label of at most ``max_length`` characters."""
    return isinstance(value, str) and 0 < len(value) <= max_length and DNS1123_LABEL.fullmatch(value) is not None


def is_dns1123_subdomain(value, max_length=DNS1123_SUBDOMAIN_MAX_LENGTH):
    """True when ``value`` is a string that is a DNS-1123 subdomain of at most ``max_length`` characters."""
    return isinstance(value, str) and 0 < len(value) <= max_length and DNS1123_SUBDOMAIN.fullmatch(value) is not None
