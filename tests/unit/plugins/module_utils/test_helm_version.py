# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Unit tests of plugins/module_utils/helm_version.py: the version check and the flag table of both majors."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.kaapana.platform.plugins.module_utils import helm_errors, helm_version
from tests.unit.plugins.module_utils.helm_fixtures import major_params, real_version


@pytest.mark.parametrize("major", major_params())
def test_real_version_output_is_supported(major):
    version, got = helm_version.check_version(helm_version.parse_version(real_version(major)), "/snap/bin/helm")
    assert got == major and version == {3: "v3.21.4", 4: "v4.3.2"}[major]


@pytest.mark.parametrize("text,expected", [
    ("v3.13.0", ("v3.13.0", (3, 13, 0))),
    ("v4.0.0-rc.1\n", ("v4.0.0-rc.1", (4, 0, 0))),
    # a helm built without release ldflags (internal/version: version = "v4.3", metadata "unreleased")
    ("v4.3", ("v4.3", (4, 3, 0))),
    ("v3.21+unreleased", ("v3.21+unreleased", (3, 21, 0))),
    ("", None),
    ("Client: &version.Version{SemVer:\"v2.17.0\"}", None),
])
def test_parse_version(text, expected):
    assert helm_version.parse_version(text) == expected


@pytest.mark.parametrize("text,needle", [
    ("v3.12.3", "too old"),
    ("v2.17.0", "does not support"),
    ("v5.0.0", "does not support"),
    ("Error: unknown flag: --template", "cannot tell which helm"),
])
def test_unsupported_versions_fail_naming_helm_binary(text, needle):
    with pytest.raises(helm_errors.HelmError) as err:
        helm_version.check_version(helm_version.parse_version(text), "/opt/helm", text)
    assert needle in err.value.msg and "helm_binary /opt/helm" in err.value.msg
    assert "Helm 3.13 or newer, or Helm 4" in err.value.msg


@pytest.mark.parametrize("major,flags", [
    pytest.param(3, {"atomic": ["--atomic"], "wait": ["--wait"]}, id="helm3"),
    pytest.param(4, {"atomic": ["--rollback-on-failure"], "wait": ["--wait=watcher"]}, id="helm4"),
])
def test_flag_table(major, flags):
    assert helm_version.rollback_on_failure_flags(major, True) == flags["atomic"]
    assert helm_version.rollback_on_failure_flags(major, False) == []
    assert helm_version.wait_flags(major, True) == flags["wait"] and helm_version.wait_flags(major, False) == []
    # Helm 4 has no `list --all`: every state is named, the same way for both majors
    assert helm_version.list_all_states_flags(major) == ["--deployed", "--failed", "--pending", "--superseded",
                                                         "--uninstalled", "--uninstalling"]
    assert helm_version.flags(major)["force_replace"] == {3: "--force", 4: "--force-replace"}[major]


@pytest.mark.parametrize("major,value,command,expected", [
    pytest.param(4, "auto", "install", [], id="helm4-auto-install"),
    pytest.param(4, None, "upgrade", [], id="helm4-none-upgrade"),
    pytest.param(4, "true", "install", ["--server-side=true"], id="helm4-true-install"),
    pytest.param(4, "false", "install", ["--server-side=false"], id="helm4-false-install"),
    pytest.param(4, "True", "upgrade", ["--server-side=true"], id="helm4-True-upgrade"),
    pytest.param(4, "false", "rollback", ["--server-side=false"], id="helm4-false-rollback"),
    pytest.param(3, "auto", "install", [], id="helm3-auto-install"),
    pytest.param(3, "false", "upgrade", [], id="helm3-false-upgrade"),
])
def test_server_side_flags(major, value, command, expected):
    assert helm_version.server_side_flags(major, value, command) == expected


def test_server_side_true_needs_helm4_and_unknown_majors_have_no_flags():
    with pytest.raises(helm_errors.HelmError, match="server_side=true needs Helm 4"):
        helm_version.server_side_flags(3, "true", "install")
    with pytest.raises(helm_errors.HelmError, match="server_side must be one of"):
        helm_version.server_side_flags(4, "maybe", "install")
    with pytest.raises(helm_errors.HelmError, match="no helm command line for helm major"):
        helm_version.flags(None)
