# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""helm command lines (pure: each function returns an argv list without the helm binary) and HelmRunner,
which runs them through module.run_command and records every command, masked."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.kaapana.platform.plugins.module_utils.helm_errors import HelmError, mask_command, mask_text
from ansible_collections.kaapana.platform.plugins.module_utils.helm_output import (
    LIST_TIME_FORMAT,
    RELEASE_TEMPLATE,
    RELEASE_TEMPLATE_NO_MANIFEST,
)
from ansible_collections.kaapana.platform.plugins.module_utils.helm_version import (
    VERSION_ARGS,
    check_version,
    list_all_states_flags,
    parse_version,
    rollback_on_failure_flags,
    server_side_flags,
    wait_flags,
)


# --------------------------------------------------------------------------------------
# Command building (pure: every function returns an argv list without the helm binary). Commands whose flags
# differ between Helm 3 and Helm 4 take the major (``major``) and get those flags from helm_version.
# --------------------------------------------------------------------------------------


def _timeout_flags(major, wait=False, timeout=None):
    args = wait_flags(major, wait)
    if timeout:
        args.extend(["--timeout", timeout])
    return args


def cmd_get_release(name, namespace, manifest=True):
    """Everything the comparison needs about the newest revision, in one call (see RELEASE_TEMPLATE).
    The rendered manifest only serves diff mode; leaving it out halves what helm prints for a large release."""
    return ["get", "all", name, "--namespace", namespace, "--template",
            RELEASE_TEMPLATE if manifest else RELEASE_TEMPLATE_NO_MANIFEST]


def cmd_history(name, namespace):
    # newest 256 revisions (helm's default; --max 0 would return none)
    return ["history", name, "--namespace", namespace, "--output", "json"]


def cmd_version():
    return list(VERSION_ARGS)


def cmd_list(namespace=None, name_filter=None, major=None):
    """Releases in every state (each state flag named: Helm 4 has no --all), all of them (--max 0)."""
    args = ["list"] + list_all_states_flags(major) + ["--max", "0", "--time-format", LIST_TIME_FORMAT, "--output", "json"]
    if namespace:
        args.extend(["--namespace", namespace])
    else:
        args.append("--all-namespaces")
    if name_filter:
        args.extend(["--filter", name_filter])
    return args


def cmd_get_values(name, namespace):
    return ["get", "values", name, "--namespace", namespace, "--output", "json"]


def cmd_pull(chart_ref, destination, chart_version=None, repo_url=None, plain_http=False):
    args = ["pull", chart_ref, "--destination", destination]
    if chart_version:
        args.extend(["--version", chart_version])
    if repo_url:
        args.extend(["--repo", repo_url])
    if plain_http and chart_ref.startswith("oci://"):
        args.append("--plain-http")
    return args


def cmd_registry_login(host, username, plain_http=False):
    """The password goes to stdin (--password-stdin), never to argv."""
    args = ["registry", "login", host, "--username", username, "--password-stdin"]
    if plain_http:
        args.append("--plain-http")
    return args


def cmd_install(name, chart_path, namespace, values_file, create_namespace=False, wait=False, timeout=None,
                atomic=False, no_hooks=False, replace=False, server_side="auto", major=None):
    args = ["install", name, chart_path, "--namespace", namespace, "--values", values_file, "--output", "json"]
    if create_namespace:
        args.append("--create-namespace")
    args.extend(_timeout_flags(major, wait, timeout))
    args.extend(rollback_on_failure_flags(major, atomic))
    args.extend(server_side_flags(major, server_side, "install"))
    if no_hooks:
        args.append("--no-hooks")
    if replace:
        args.append("--replace")
    return args


def cmd_upgrade(name, chart_path, namespace, values_file, wait=False, timeout=None, atomic=False, no_hooks=False,
                server_side="auto", major=None):
    # --reset-values: the release gets exactly the merged values file, also when it is empty.
    args = ["upgrade", name, chart_path, "--namespace", namespace, "--values", values_file, "--reset-values",
            "--output", "json"]
    args.extend(_timeout_flags(major, wait, timeout))
    args.extend(rollback_on_failure_flags(major, atomic))
    args.extend(server_side_flags(major, server_side, "upgrade"))
    if no_hooks:
        args.append("--no-hooks")
    return args


def cmd_uninstall(name, namespace, wait=False, timeout=None, no_hooks=False, keep_history=False, major=None):
    args = ["uninstall", name, "--namespace", namespace]
    args.extend(_timeout_flags(major, wait, timeout))
    if no_hooks:
        args.append("--no-hooks")
    if keep_history:
        args.append("--keep-history")
    return args


def cmd_rollback(name, namespace, revision, wait=False, timeout=None, no_hooks=False, server_side="auto", major=None):
    args = ["rollback", name, str(revision), "--namespace", namespace]
    args.extend(_timeout_flags(major, wait, timeout))
    args.extend(server_side_flags(major, server_side, "rollback"))
    if no_hooks:
        args.append("--no-hooks")
    return args


def cmd_template(name, chart_path, namespace, values_file, is_upgrade=False):
    args = ["template", name, chart_path, "--namespace", namespace, "--values", values_file, "--no-hooks"]
    if is_upgrade:
        args.append("--is-upgrade")
    return args


# --------------------------------------------------------------------------------------
# Running helm
# --------------------------------------------------------------------------------------


class HelmRunner:
    """Runs helm through module.run_command, records every command (masked). ``version`` and ``major`` of the
    binary are read once, by the first detect_version() (or the first read of ``major``)."""

    def __init__(self, module, binary="helm", kubeconfig=None, context=None, secrets=(), proxy_environment=None):
        self.module = module
        self.secrets = [s for s in secrets if s]
        # a proxy password (http://user:password@proxy:3128) is masked wherever helm's output shows it
        for value in (proxy_environment or {}).values():
            match = re.search(r"://[^/@:]*:([^/@]+)@", str(value))
            if match and match.group(1) not in self.secrets:
                self.secrets.append(match.group(1))
        self.commands = []
        if os.sep in binary:
            if not os.access(binary, os.X_OK):
                raise HelmError("helm_binary %s does not exist or is not executable" % binary)
            self.binary = binary
        else:
            self.binary = module.get_bin_path(binary, required=False)
            if not self.binary:
                raise HelmError("helm_binary %r not found in PATH: install helm (3.13 or newer, or 4) or set helm_binary"
                                % binary)
        self._version = None
        self.environ = dict((str(k), str(v)) for k, v in (proxy_environment or {}).items() if v)
        if kubeconfig:
            self.environ["KUBECONFIG"] = kubeconfig
        if context:
            self.environ["HELM_KUBECONTEXT"] = context

    def detect_version(self):
        """Run ``helm version`` once; returns (version, major) or raises HelmError for an unsupported helm."""
        if self._version is None:
            rc, out, err = self.run(cmd_version())
            if rc != 0:
                raise HelmError("cannot run helm_binary %s (helm version failed with rc %s: %s)"
                                % (self.binary, rc, (err or out or "").strip()[:300]))
            self._version = check_version(parse_version(out), self.binary, out)
        return self._version

    def version_info(self):
        """``helm_version`` and ``helm_major`` for a module result, once the version was read (else empty)."""
        if self._version is None:
            return {}
        return {"helm_version": self._version[0], "helm_major": self._version[1]}

    @property
    def version(self):
        return self.detect_version()[0]

    @property
    def major(self):
        return self.detect_version()[1]

    def add_secret(self, secret):
        if secret and secret not in self.secrets:
            self.secrets.append(secret)

    def run(self, args, data=None):
        """Run ``helm <args>``; returns (rc, stdout, stderr) with stderr masked."""
        argv = [self.binary] + list(args)
        shown = [("<release-template>" if arg in (RELEASE_TEMPLATE, RELEASE_TEMPLATE_NO_MANIFEST) else arg) for arg in argv]
        self.commands.append(mask_command(shown, self.secrets))
        rc, out, err = self.module.run_command(argv, data=data, environ_update=self.environ, check_rc=False)
        return rc, out, mask_text(err, self.secrets)
