# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""The helm majors kaapana.platform.helm_release and helm_release_info support (Helm 3.13+ and Helm 4), how the
version of helm_binary is read (once per module run) and the ONE table of the command-line flags that differ
between the majors. helm_commands builds every command line from this table; nothing else spells these flags.

Differences, read from the sources of helm v3.21.4 (cmd/helm) and v4.3.2 (pkg/cmd):

* ``--atomic`` (install, upgrade) is ``--rollback-on-failure`` in Helm 4 (v4 pkg/cmd/install.go and upgrade.go keep
  ``--atomic`` as a deprecated alias that prints a warning).
* ``--wait`` is a bool in Helm 3 and a strategy in Helm 4 (v4 pkg/cmd/flags.go ``AddWaitFlag``: ``watcher``,
  ``hookOnly`` (the default when the flag is absent, like Helm 3 without ``--wait``) or ``legacy`` (Helm 3's
  readiness checks); a bare ``--wait`` means ``watcher``). The modules pass ``--wait=watcher``, Helm 4's own choice.
* ``--server-side`` exists only in Helm 4: a bool on install (default true: new releases are applied server-side)
  and ``true``/``false``/``auto`` on upgrade and rollback (default ``auto``: the method the release used before,
  so a release installed by Helm 3, which recorded no method, stays client-side). Helm 3 always applies
  client-side. The modules pass it only when ``server_side`` is not ``auto``.
* ``--force`` (install, upgrade, rollback) is ``--force-replace`` in Helm 4; the modules do not use it.
* ``helm list --all`` does not exist in Helm 4 (v4 pkg/cmd/list.go; without a state flag it lists every state,
  where Helm 3 lists only deployed and failed releases). The modules name every state flag, which both majors
  read the same way (pkg/action/list.go ``SetStateMask``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.kaapana.platform.plugins.module_utils.helm_errors import HelmError


SUPPORTED_MAJORS = (3, 4)
MIN_VERSION = {3: (3, 13, 0), 4: (4, 0, 0)}
SUPPORTED_TEXT = "Helm 3.13 or newer, or Helm 4"

# ``helm version --template`` exists in both majors and prints BuildInfo.Version: ``v3.21.4``, ``v4.3.2``,
# ``v4.0.0-rc.1``, or for a build without release ldflags ``v4.3`` / ``v3.21+unreleased`` (internal/version).
VERSION_ARGS = ["version", "--template", "{{.Version}}"]
_VERSION = re.compile(r"^v?(?P<major>[0-9]+)\.(?P<minor>[0-9]+)(\.(?P<patch>[0-9]+))?(?P<rest>[-+][0-9A-Za-z.+-]*)?$")

SERVER_SIDE_CHOICES = ("auto", "true", "false")

# The flags that differ, per major. None: the major has no such flag.
FLAGS = {
    3: {
        "rollback_on_failure": "--atomic",
        "wait": ["--wait"],
        "server_side_install": None,
        "server_side_upgrade": None,
        "force_replace": "--force",
        "list_all_states": ["--deployed", "--failed", "--pending", "--superseded", "--uninstalled", "--uninstalling"],
    },
    4: {
        "rollback_on_failure": "--rollback-on-failure",
        "wait": ["--wait=watcher"],
        "server_side_install": "--server-side",
        "server_side_upgrade": "--server-side",
        "force_replace": "--force-replace",
        "list_all_states": ["--deployed", "--failed", "--pending", "--superseded", "--uninstalled", "--uninstalling"],
    },
}


def parse_version(text):
    """``helm version --template {{.Version}}`` output -> (version text, (major, minor, patch)), or None."""
    lines = [ln.strip() for ln in to_text(text or "").splitlines() if ln.strip()]
    if not lines:
        return None
    match = _VERSION.match(lines[-1])
    if not match:
        return None
    numbers = (int(match.group("major")), int(match.group("minor")), int(match.group("patch") or 0))
    return lines[-1], numbers


def check_version(parsed, binary, output=""):
    """Return (version, major) for a supported helm; raise HelmError naming helm_binary otherwise."""
    if parsed is None:
        raise HelmError("cannot tell which helm helm_binary %s is: 'helm version --template {{.Version}}' printed %r; "
                        "this module needs %s" % (binary, to_text(output or "").strip()[:200], SUPPORTED_TEXT))
    version, numbers = parsed
    major = numbers[0]
    if major not in SUPPORTED_MAJORS:
        raise HelmError("helm_binary %s is helm %s, a major version this module does not support; it needs %s"
                        % (binary, version, SUPPORTED_TEXT))
    if numbers < MIN_VERSION[major]:
        raise HelmError("helm_binary %s is helm %s, too old; this module needs %s" % (binary, version, SUPPORTED_TEXT))
    return version, major


def flags(major):
    """The flag table of a supported major (see FLAGS)."""
    if major not in FLAGS:
        raise HelmError("no helm command line for helm major %r; supported: %s" % (major, SUPPORTED_TEXT))
    return FLAGS[major]


def wait_flags(major, wait):
    return list(flags(major)["wait"]) if wait else []


def rollback_on_failure_flags(major, enabled):
    return [flags(major)["rollback_on_failure"]] if enabled else []


def server_side_flags(major, value, command):
    """``--server-side=<value>`` for install (a bool flag), upgrade and rollback (true/false/auto) on Helm 4.

    ``auto`` (or None) passes nothing: helm's own default applies (Helm 4: install server-side, upgrade and rollback
    the way the release was applied before; Helm 3: client-side). ``false`` on Helm 3 is what it does anyway;
    ``true`` on Helm 3 fails, since Helm 3 cannot apply server-side.
    """
    value = to_text(value or "auto").lower()
    if value not in SERVER_SIDE_CHOICES:
        raise HelmError("server_side must be one of %s, got %r" % (", ".join(SERVER_SIDE_CHOICES), value))
    if value == "auto":
        return []
    key = "server_side_install" if command == "install" else "server_side_upgrade"
    flag = flags(major)[key]
    if flag is None:
        if value == "true":
            raise HelmError("server_side=true needs Helm 4: helm %d applies client-side only; set server_side to auto "
                            "or false, or point helm_binary at Helm 4" % major)
        return []
    return ["%s=%s" % (flag, value)]


def list_all_states_flags(major):
    return list(flags(major)["list_all_states"])
