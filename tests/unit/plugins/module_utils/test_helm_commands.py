# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Unit tests of the helm command lines in plugins/module_utils/helm_commands.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.kaapana.platform.plugins.module_utils import helm_commands, helm_errors, helm_output
from tests.unit.plugins.module_utils.helm_fixtures import major_params, real_output

STATES = ["--deployed", "--failed", "--pending", "--superseded", "--uninstalled", "--uninstalling"]


def test_registry_login_password_never_on_argv():
    argv = helm_commands.cmd_registry_login("10.89.0.1:5000", "kaapana-lab", plain_http=True)
    assert argv == ["registry", "login", "10.89.0.1:5000", "--username", "kaapana-lab", "--password-stdin",
                    "--plain-http"]


@pytest.mark.parametrize("major,atomic,wait", [
    pytest.param(3, "--atomic", "--wait", id="helm3"),
    pytest.param(4, "--rollback-on-failure", "--wait=watcher", id="helm4"),
])
def test_install_upgrade_uninstall_commands(major, atomic, wait):
    assert helm_commands.cmd_install("r", "/c.tgz", "ns", "/v.json", create_namespace=True, wait=True, timeout="5m",
                                     atomic=True, no_hooks=True, replace=True, major=major) == [
        "install", "r", "/c.tgz", "--namespace", "ns", "--values", "/v.json", "--output", "json",
        "--create-namespace", wait, "--timeout", "5m", atomic, "--no-hooks", "--replace"]
    assert helm_commands.cmd_upgrade("r", "/c.tgz", "ns", "/v.json", major=major) == [
        "upgrade", "r", "/c.tgz", "--namespace", "ns", "--values", "/v.json", "--reset-values", "--output", "json"]
    # timeout is honoured by uninstall as well, with or without wait
    assert helm_commands.cmd_uninstall("r", "ns", timeout="90s", no_hooks=True, keep_history=True, major=major) == [
        "uninstall", "r", "--namespace", "ns", "--timeout", "90s", "--no-hooks", "--keep-history"]
    assert helm_commands.cmd_rollback("r", "ns", 3, wait=True, timeout="1m", major=major) == [
        "rollback", "r", "3", "--namespace", "ns", wait, "--timeout", "1m"]
    assert helm_commands.cmd_uninstall("r", "ns", wait=True, major=major)[-1] == wait


def test_server_side_only_reaches_helm4():
    assert helm_commands.cmd_install("r", "/c", "ns", "/v", server_side="false", major=4)[-1] == "--server-side=false"
    assert helm_commands.cmd_upgrade("r", "/c", "ns", "/v", server_side="true", major=4)[-1] == "--server-side=true"
    assert helm_commands.cmd_rollback("r", "ns", 1, server_side="false", major=4)[-1] == "--server-side=false"
    assert not any(a.startswith("--server-side") for a in helm_commands.cmd_upgrade("r", "/c", "ns", "/v", major=4))
    assert not any(a.startswith("--server-side")
                   for a in helm_commands.cmd_upgrade("r", "/c", "ns", "/v", server_side="false", major=3))
    with pytest.raises(helm_errors.HelmError, match="needs Helm 4"):
        helm_commands.cmd_install("r", "/c", "ns", "/v", server_side="true", major=3)
    # a command whose flags differ between the majors is never built without knowing the major
    with pytest.raises(helm_errors.HelmError):
        helm_commands.cmd_install("r", "/c", "ns", "/v", atomic=True)
    with pytest.raises(helm_errors.HelmError):
        helm_commands.cmd_list()


@pytest.mark.parametrize("major", major_params())
def test_the_real_helm_accepted_every_command_line(major):
    """fixtures/helm<major>/accepted.json: the command lines (all options on) ran against the real binary with
    exit code 0, and they are still what helm_commands builds."""
    accepted = json.loads(real_output(major, "accepted.json"))
    chart, values = "<work>/demo", "<work>/values.json"
    built = {
        "install": helm_commands.cmd_install("new", chart, "ns1", values, create_namespace=True, wait=True, timeout="5m",
                                             atomic=True, no_hooks=True,
                                             server_side="false" if major == 4 else "auto", major=major),
        "install-replace": helm_commands.cmd_install("gone", chart, "ns1", values, replace=True, major=major),
        "upgrade": helm_commands.cmd_upgrade("demo", chart, "ns1", values, wait=True, timeout="5m", atomic=True,
                                             no_hooks=True, server_side="true" if major == 4 else "false", major=major),
        "rollback": helm_commands.cmd_rollback("pend", "ns1", 1, wait=True, timeout="5m", no_hooks=True,
                                               server_side="false", major=major),
        "uninstall": helm_commands.cmd_uninstall("demo", "ns1", wait=True, timeout="5m", no_hooks=True,
                                                 keep_history=True, major=major),
        "template": helm_commands.cmd_template("demo", chart, "ns1", values, is_upgrade=True),
        "list": helm_commands.cmd_list("ns1", "^de", major=major),
    }
    assert sorted(built) == sorted(accepted)
    for name, argv in built.items():
        assert accepted[name]["argv"] == argv, name
        assert accepted[name]["rc"] == 0 and accepted[name]["stderr"] == "", name


def test_pull_status_list_template_commands():
    assert helm_commands.cmd_pull("oci://h:5000/charts/c", "/d", "1.0.0", plain_http=True) == [
        "pull", "oci://h:5000/charts/c", "--destination", "/d", "--version", "1.0.0", "--plain-http"]
    # plain_http only concerns OCI
    assert "--plain-http" not in helm_commands.cmd_pull("repo/c", "/d", plain_http=True)
    assert helm_commands.cmd_pull("c", "/d", repo_url="https://charts.example.org")[-2:] == ["--repo", "https://charts.example.org"]
    # helm history --max 0 returns no revision at all: keep helm's default (newest 256)
    assert helm_commands.cmd_history("r", "ns") == ["history", "r", "--namespace", "ns", "--output", "json"]
    assert helm_commands.cmd_version() == ["version", "--template", "{{.Version}}"]
    for major in (3, 4):
        assert helm_commands.cmd_list(major=major)[-1] == "--all-namespaces"
        assert helm_commands.cmd_list("admin", "^kaapana", major=major)[-4:] == ["--namespace", "admin", "--filter",
                                                                                 "^kaapana"]
        # Helm 4 has no --all: both majors get every state flag
        assert helm_commands.cmd_list(major=major)[:9] == ["list"] + STATES + ["--max", "0"]
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


class FakeModule:
    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = []

    def get_bin_path(self, name, required=False):
        return "/usr/bin/" + name

    def run_command(self, argv, data=None, environ_update=None, check_rc=False):
        self.calls.append(argv)
        return self.answers.pop(0)


@pytest.mark.parametrize("major", major_params())
def test_runner_reads_the_version_once(major):
    module = FakeModule([(0, real_output(major, "version.txt"), "")])
    runner = helm_commands.HelmRunner(module, "helm")
    assert runner.version_info() == {}
    assert runner.major == major and runner.version == {3: "v3.21.4", 4: "v4.3.2"}[major]
    assert runner.detect_version() == (runner.version, major)
    assert module.calls == [["/usr/bin/helm", "version", "--template", "{{.Version}}"]]
    assert runner.commands == ["/usr/bin/helm version --template '{{.Version}}'"]
    assert runner.version_info() == {"helm_version": runner.version, "helm_major": major}


@pytest.mark.parametrize("answer,needle", [
    ((0, "v3.12.0", ""), "helm_binary /usr/bin/helm is helm v3.12.0, too old"),
    ((0, "v5.0.0", ""), "a major version this module does not support"),
    ((1, "", "Error: unknown command \"version\""), "cannot run helm_binary /usr/bin/helm"),
])
def test_runner_rejects_unsupported_helm(answer, needle):
    runner = helm_commands.HelmRunner(FakeModule([answer]), "helm")
    with pytest.raises(helm_errors.HelmError) as err:
        runner.detect_version()
    assert needle in err.value.msg


def test_runner_checks_a_helm_binary_path(tmp_path):
    with pytest.raises(helm_errors.HelmError, match="does not exist or is not executable"):
        helm_commands.HelmRunner(FakeModule([]), str(tmp_path / "helm"))


def test_runner_passes_the_proxy_environment_and_masks_its_password():
    module = FakeModule([(1, "", "Error: proxyconnect tcp: http://deploy:S3cret-Pr0xy@proxy.lab:3128 refused")])
    envs = []
    run_command = module.run_command

    def record(argv, data=None, environ_update=None, check_rc=False):
        envs.append(dict(environ_update))
        return run_command(argv, data=data, environ_update=environ_update, check_rc=check_rc)

    module.run_command = record
    proxy = {"HTTPS_PROXY": "http://deploy:S3cret-Pr0xy@proxy.lab:3128", "https_proxy": "", "NO_PROXY": "10.0.0.0/8"}
    runner = helm_commands.HelmRunner(module, "helm", kubeconfig="/k", proxy_environment=proxy)
    rc, _out, err = runner.run(["pull", "oci://r/c"])
    # empty values are left out; the kubeconfig still reaches helm
    assert envs == [{"HTTPS_PROXY": proxy["HTTPS_PROXY"], "NO_PROXY": "10.0.0.0/8", "KUBECONFIG": "/k"}]
    assert rc == 1 and "S3cret-Pr0xy" not in err
