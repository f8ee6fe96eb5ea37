# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Input checks for the roles' validate tasks: namespaces, ports, values checked with a regular expression,
host addresses, catch-all NO_PROXY entries, storage classes and production passwords. Each filter returns a
list of error messages (empty: accepted) that name the variable, the value (masked for secrets) and the
accepted form. The logic lives in plugin_utils/input_checks.py. Documentation: <filter>.yml next to this file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kaapana.platform.plugins.plugin_utils import input_checks


def namespace_errors(namespaces):
    return input_checks.namespace_errors(namespaces)


def port_errors(ports):
    return input_checks.port_errors(ports)


def regex_errors(checks):
    return input_checks.regex_errors(checks)


def host_address_errors(value, var="value"):
    return input_checks.host_address_errors(value, var)


def no_proxy_catch_all(entries):
    return input_checks.no_proxy_catch_all(entries)


def storage_class_errors(overrides, existing=None, provider="hostpath"):
    return input_checks.storage_class_errors(overrides, existing, provider)


def password_errors(password, var="password", username="", policy=True):
    return input_checks.password_errors(password, var, username, policy)


class FilterModule(object):
    """kaapana.platform input checks."""

    def filters(self):
        return {
            "namespace_errors": namespace_errors,
            "port_errors": port_errors,
            "regex_errors": regex_errors,
            "host_address_errors": host_address_errors,
            "no_proxy_catch_all": no_proxy_catch_all,
            "storage_class_errors": storage_class_errors,
            "password_errors": password_errors,
        }
