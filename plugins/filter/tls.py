# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Filters over TLS certificates: the check of Kaapana's certificate and key before they are installed, the
expiry of one certificate and the workloads that mount a Secret. The logic lives in plugin_utils/tls.py. Documentation: tls_certificate_check.yml,
x509_expiry.yml and secret_consumers.yml next to this file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.kaapana.platform.plugins.plugin_utils import tls


def tls_certificate_check(certificate, key, domain, trusted="", warn_days=30, now=None):
    try:
        return tls.check_tls_pair(certificate, key, domain, trusted, warn_days, now)
    except ValueError as exc:
        raise AnsibleFilterError("kaapana.platform.tls_certificate_check: %s" % exc)


def x509_expiry(certificate, now=None):
    try:
        return tls.certificate_expiry(certificate, now)
    except ValueError as exc:
        raise AnsibleFilterError("kaapana.platform.x509_expiry: the input %s" % exc)


def secret_consumers(workloads, secret_name, annotation):
    return tls.secret_consumers(workloads, secret_name, annotation)


class FilterModule(object):
    """kaapana.platform TLS filters."""

    def filters(self):
        return {
            'tls_certificate_check': tls_certificate_check,
            'x509_expiry': x509_expiry,
            'secret_consumers': secret_consumers,
        }
