# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Helm errors as the user sees them: the error type, secrets masked, helm's stderr classified into a message
that names the option to fix, and which failures a retry can cure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import shlex

from ansible.module_utils.common.text.converters import to_text


MASK = "********"


class HelmError(Exception):
    """An error with a message fit for the user (secrets already masked)."""

    def __init__(self, msg, **kwargs):
        super(HelmError, self).__init__(msg)
        self.msg = msg
        self.extra = kwargs


# --------------------------------------------------------------------------------------
# Masking
# --------------------------------------------------------------------------------------

SECRET_FLAGS = ("--password", "-p", "--token", "--kube-token")


def mask_text(text, secrets):
    """Replace every secret in text with ********."""
    if text is None:
        return text
    out = to_text(text)
    for secret in sorted((s for s in secrets or () if s), key=len, reverse=True):
        out = out.replace(to_text(secret), MASK)
    return out


def mask_command(argv, secrets=()):
    """Render argv as a shell-quoted string with secrets and secret flag values masked."""
    masked = []
    hide_next = False
    for arg in argv:
        arg = to_text(arg)
        if hide_next:
            masked.append(MASK)
            hide_next = False
            continue
        if arg in SECRET_FLAGS:
            masked.append(arg)
            hide_next = True
            continue
        flag, sep, _value = arg.partition("=")
        if sep and flag in SECRET_FLAGS:
            masked.append(flag + "=" + MASK)
            continue
        masked.append(mask_text(arg, secrets))
    return " ".join(_quote(a) for a in masked)


def _quote(arg):
    """shlex.quote, but leaves the mask (and other '*' in otherwise safe words) readable."""
    if arg and not re.search(r"[^\w@%+=:,./*^$-]", arg):
        return arg
    return shlex.quote(arg)


# --------------------------------------------------------------------------------------
# Error classification
# --------------------------------------------------------------------------------------

AUTH_ERROR = re.compile(
    r"\b401\b|\b403\b|unauthori[sz]ed|forbidden|basic credential not found|authentication required|"
    r"denied: requested access|no basic auth credentials|incorrect username or password",
    re.IGNORECASE,
)
K8S_UNREACHABLE = re.compile(
    r"kubernetes cluster unreachable|the server could not find the requested resource|"
    r"unable to connect to the server|connect: connection refused|no such host|i/o timeout|"
    r"tls: failed to verify certificate|x509: certificate|context deadline exceeded \(Client\.Timeout",
    re.IGNORECASE,
)


def is_auth_error(stderr):
    return bool(AUTH_ERROR.search(to_text(stderr or "")))


def is_release_not_found(stderr):
    return bool(re.search(r"release: not found|release not found", to_text(stderr or "")))


# Network failures a later attempt can cure (the registry restarting, a proxy hiccup); not found and
# unauthorized are answers, not failures to reach the source, and are never retried.
TRANSIENT_PULL_ERROR = re.compile(
    r"connection refused|connection reset|i/o timeout|tls handshake timeout|unexpected eof|\beof\b|"
    r"context deadline exceeded|server misbehaving|no route to host|network is unreachable|"
    r"\b50[234]\b|bad gateway|service unavailable|gateway timeout|too many requests|\b429\b",
    re.IGNORECASE)


def is_transient_pull_error(stderr):
    """True when helm pull / registry login failed to reach the chart source in a way worth retrying."""
    text = to_text(stderr or "")
    if is_auth_error(text):
        return False
    return bool(TRANSIENT_PULL_ERROR.search(text))


def retry_delays(retries, first=2, cap=30):
    """Seconds to wait before each retry: 2, 4, 8, ... capped at ``cap``."""
    return [min(cap, first * (2 ** i)) for i in range(max(0, int(retries or 0)))]


def _last_error_line(stderr):
    lines = [ln.strip() for ln in to_text(stderr or "").splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("Error:")]
    line = errors[-1] if errors else (lines[-1] if lines else "no output")
    return line[len("Error:"):].strip() if line.startswith("Error:") else line


def classify_error(stderr, stage, chart_ref=None, chart_version=None, host=None, secrets=()):
    """Turn helm's stderr into a specific message that names the option to fix (secrets masked).

    ``stage`` is one of status, list, history, pull, login, install, upgrade, uninstall,
    rollback, template.
    """
    err = mask_text(to_text(stderr or ""), secrets)
    low = err.lower()
    detail = _last_error_line(err)
    kube_stages = ("status", "list", "history", "install", "upgrade", "uninstall", "rollback")

    if re.search(r'context "[^"]*" does not exist', err):
        return "Kubernetes context not found in the kubeconfig (%s): check the context option" % detail
    if stage in kube_stages and re.search(r"kubeconfig|invalid configuration|no configuration has been provided", low) \
            and re.search(r"no such file|not found|invalid|no configuration", low):
        return "cannot load the kubeconfig (%s): check the kubeconfig option" % detail
    if stage in kube_stages and K8S_UNREACHABLE.search(err):
        return ("Kubernetes is unreachable (%s): check the kubeconfig and context options and that the API "
                "server is up" % detail)

    if stage == "login":
        if is_auth_error(err):
            return ("registry %s refused the credentials (401/403 unauthorized): check registry.username and "
                    "registry.password" % (host or ""))
        if "server gave http response to https client" in low:
            return "registry %s speaks plain HTTP: set plain_http: true (%s)" % (host or "", detail)
        return "helm registry login to %s failed: %s" % (host or "", detail)

    if stage in ("pull", "template"):
        if "server gave http response to https client" in low:
            return "registry %s speaks plain HTTP: set plain_http: true (%s)" % (host or "", detail)
        if is_auth_error(err):
            where = ("registry %s" % host) if host else "the chart repository"
            return ("%s refused access to chart %s (401/403 unauthorized): set registry.username and "
                    "registry.password, or check them" % (where, chart_ref))
        if re.search(r"not found|no such|404|manifest unknown|name unknown|could not find|unable to locate any tags|"
                     r"no chart (version )?(found|exists)|invalid_reference|failed to fetch", low):
            what = "chart %s" % chart_ref
            if chart_version:
                what += " version %s" % chart_version
            return "%s not found (%s): check chart_ref and chart_version" % (what, detail)
        if re.search(r"connection refused|no such host|i/o timeout|dial tcp", low):
            return ("cannot reach the chart source of chart_ref %s (%s): check chart_ref, repo_url and plain_http"
                    % (chart_ref, detail))

    if re.search(r'namespaces? "[^"]+" not found', err):
        return "namespace does not exist (%s): set create_namespace: true or create it first" % detail
    if "another operation (install/upgrade/rollback) is in progress" in low:
        return ("another helm operation is in progress on this release (%s); run again to recover it, or wait "
                "until it ends" % detail)
    if "timed out waiting for the condition" in low or "context deadline exceeded" in low:
        return "helm %s timed out (%s): raise timeout, or check why the resources do not become ready" % (stage, detail)
    if "values don't meet the specifications of the schema" in low:
        return "the chart rejected the values (%s): fix values / values_files" % detail
    if re.search(r"execution error at|parse error at|error converting yaml to json|template: ", low):
        return "the chart failed to render with the given values (%s): check values / values_files" % detail
    if re.search(r"is forbidden: user", low):
        return ("Kubernetes denied the request (%s): the credentials in kubeconfig/context lack the permission"
                % detail)
    # Helm 3: "cannot re-use a name ...", Helm 4: "release name check failed: cannot reuse a name ..."
    if re.search(r"cannot re-?use a name that is still in use", low):
        return "release name is still in use (%s): choose another name or uninstall the old release" % detail
    if "has no deployed releases" in low:
        return ("the release has no deployed revision to upgrade (%s): uninstall it, or install it again" % detail)
    # Helm 4 applies server-side; the API server refuses fields another field manager owns (the Kubernetes wording
    # "Apply failed with N conflict(s): conflict with \"kubectl\" ...").
    if re.search(r"apply failed with [0-9]+ conflicts?", low):
        return ("server-side apply conflicts with changes another field manager made (%s): set server_side: false "
                "to apply client-side, or undo those changes" % detail)
    return "helm %s failed: %s" % (stage, detail)
