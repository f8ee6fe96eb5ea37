# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Unit tests of the helm command lines in plugins/module_utils/helm_commands.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kaapana.platform.plugins.module_utils import helm_commands, helm_output


def test_registry_login_password_never_on_argv():
    argv = helm_commands.cmd_registry_login("10.89.0.1:5000", "kaapana-lab", plain_http=True)
    assert argv == ["registry", "login", "10.89.0.1:5000", "--username", "kaapana-lab", "--password-stdin",
                    "--plain-http"]


def test_install_upgrade_uninstall_commands():
    assert helm_commands.cmd_install("r", "/c.tgz", "ns", "/v.json", create_namespace=True, wait=True, timeout="5m",
                                     atomic=True, no_hooks=True, replace=True) == [
        "install", "r", "/c.tgz", "--namespace", "ns", "--values", "/v.json", "--output", "json",
        "--create-namespace", "--wait", "--timeout", "5m", "--atomic", "--no-hooks", "--replace"]
    assert helm_commands.cmd_upgrade("r", "/c.tgz", "ns", "/v.json") == [
        "upgrade", "r", "/c.tgz", "--namespace", "ns", "--values", "/v.json", "--reset-values", "--output", "json"]
    # timeout is honoured by uninstall as well, with or without wait
    assert helm_commands.cmd_uninstall("r", "ns", timeout="90s", no_hooks=True, keep_history=True) == [
        "uninstall", "r", "--namespace", "ns", "--timeout", "90s", "--no-hooks", "--keep-history"]
    assert helm_commands.cmd_rollback("r", "ns", 3, wait=True, timeout="1m") == [
        "rollback", "r", "3", "--namespace", "ns", "--wait", "--timeout", "1m"]


def test_pull_status_list_template_commands():
    assert helm_commands.cmd_pull("oci://h:5000/charts/c", "/d", "1.0.0", plain_http=True) == [
        "pull", "oci://h:5000/charts/c", "--destination", "/d", "--version", "1.0.0", "--plain-http"]
    # plain_http only concerns OCI
    assert "--plain-http" not in helm_commands.cmd_pull("repo/c", "/d", plain_http=True)
    assert helm_commands.cmd_pull("c", "/d", repo_url="https://charts.example.org")[-2:] == ["--repo", "https://charts.example.org"]
    # helm history --max 0 returns no revision at all: keep helm's default (newest 256)
    assert helm_commands.cmd_history("r", "ns") == ["history", "r", "--namespace", "ns", "--output", "json"]
    assert helm_commands.cmd_list()[-1] == "--all-namespaces"
    assert helm_commands.cmd_list("admin", "^kaapana")[-4:] == ["--namespace", "admin", "--filter", "^kaapana"]
    assert "--all" in helm_commands.cmd_list() and ["--max", "0"] == helm_commands.cmd_list()[2:4]
    assert helm_commands.cmd_template("r", "/c", "ns", "/v", is_upgrade=True)[-2:] == ["--no-hooks", "--is-upgrade"]


def test_get_release_command_uses_the_template():
    argv = helm_commands.cmd_get_release("r", "ns")
    assert argv[:5] == ["get", "all", "r", "--namespace", "ns"] and argv[-2:] == ["--template", helm_output.RELEASE_TEMPLATE]


def test_get_release_command_leaves_the_manifest_out_outside_diff_mode():
    argv = helm_commands.cmd_get_release("r", "ns", manifest=False)
    template = argv[-1]
    assert template == helm_output.RELEASE_TEMPLATE_NO_MANIFEST != helm_output.RELEASE_TEMPLATE
    assert "$r.Manifest" not in template and "$c.Templates" in template and "$r.Config" in template
    assert helm_output.parse_release_template("name=s%s;\n" % b"r".hex())["manifest"] == ""
