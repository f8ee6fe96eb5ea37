# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Module-level tests of helm_release with a scripted helm, for the cases the lab cannot produce on demand
(pending-install, failed with atomic, stuck uninstalling, unreachable cluster) and for the exact command flow."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os

import pytest

from ansible_collections.kaapana.platform.plugins.modules import helm_release
from ansible_collections.kaapana.platform.plugins.module_utils import helm_chart, helm_manager
from tests.unit.plugins.module_utils.helm_fixtures import (
    CHART_FILES,
    release_json,
    release_template,
    write_chart_tgz,
)

GET = ["get", "all", "demo"]
NOT_FOUND = (GET, 1, "", "Error: release: not found\n")
SECRET = "Pa55-w0rd-that-must-not-leak"
VERSION = "/usr/bin/helm version --template '{{.Version}}'"
WAIT = {3: "--wait", 4: "--wait=watcher"}
ATOMIC = {3: "--atomic", 4: "--rollback-on-failure"}


def status(**kw):
    """The release as ReleaseManager reads it: helm get all --template."""
    return (GET, 0, release_template(release_json(**kw)), "")


def ok(prefix, out=""):
    return (prefix, 0, out, "")


@pytest.fixture
def chart(tmp_path):
    return write_chart_tgz(tmp_path / "demo-0.1.0.tgz")


def base_args(chart, **kw):
    args = {"name": "demo", "namespace": "ns1", "chart_ref": chart}
    args.update(kw)
    return args


def commands_of(helm):
    return [" ".join(c["argv"][1:3]) for c in helm.calls]


def test_fresh_install(run_helm_module, chart):
    seen = {}

    def install(args):
        # helm's YAML parser rejects JSON surrogate escapes (\ud83d...): the values file must be UTF-8
        with open(args[args.index("--values") + 1], "rb") as handle:
            seen["values"] = handle.read()
        seen["mode"] = os.stat(args[args.index("--values") + 1]).st_mode & 0o777
        return release_json(config={"a": 1})

    res, helm, _out = run_helm_module(helm_release.main, base_args(chart, values={"a": 1, "e": u"\U0001f600"}, timeout=120,
                                                                   create_namespace=True), [
        NOT_FOUND,
        (["install", "demo"], 0, install, ""),
    ])
    assert json.loads(seen["values"].decode("utf-8")) == {"a": 1, "e": u"\U0001f600"}
    assert b"\\u" not in seen["values"] and seen["mode"] == 0o600
    assert res["changed"] is True and res["status"] == "deployed" and res["revision"] == 1
    assert res["chart"] == "demo" and res["chart_version"] == "0.1.0" and res["app_version"] == "1.0"
    argv = helm.calls[1]["argv"]
    assert "--create-namespace" in argv and argv[argv.index("--timeout") + 1] == "120s"
    assert not any(a.startswith(("--server-side", "--wait", "--atomic", "--rollback")) for a in argv)
    # the version is read first, once, and returned
    assert len(res["commands"]) == 3 and res["commands"][0] == VERSION and res["recovered"] is None
    assert (res["helm_major"], res["helm_version"]) == {3: (3, "v3.21.4"), 4: (4, "v4.3.2")}[run_helm_module.major]


def test_noop_is_one_call_for_a_local_chart(run_helm_module, chart):
    res, helm, _out = run_helm_module(helm_release.main, base_args(chart, values={"a": 1}), [status(config={"a": 1})])
    assert res["changed"] is False and res["changes"] == []
    assert len(helm.calls) == 1 and not any("upgrade" in c for c in res["commands"])
    # the long template is recorded as a placeholder
    assert res["commands"] == [VERSION, "/usr/bin/helm get all demo --namespace ns1 --template '<release-template>'"]


def test_value_change_upgrades_with_reset_values_and_diff(run_helm_module, chart):
    res, helm, _out = run_helm_module(helm_release.main, base_args(chart, values={"a": 2}), [
        status(config={"a": 1}),
        ok(["template", "demo"], "---\n# Source: demo/templates/cm.yaml\nkind: ConfigMap\n"),
        ok(["upgrade", "demo"], release_json(config={"a": 2}, version=2)),
    ], diff=True)
    assert res["changed"] is True and res["revision"] == 2
    assert "--reset-values" in helm.calls[2]["argv"]
    assert "--is-upgrade" in helm.calls[1]["argv"]
    values_diff, manifest_diff = res["diff"]
    assert "a: 1" in values_diff["before"] and "a: 2" in values_diff["after"]
    assert "ConfigMap" in manifest_diff["after"]


def test_check_mode_runs_nothing_that_mutates(run_helm_module, chart):
    res, helm, _out = run_helm_module(helm_release.main, base_args(chart, values={"a": 2}), [status(config={"a": 1})],
                                      check_mode=True)
    assert res["changed"] is True and res["revision"] == 1
    assert res["changes"] == ["values differ from the deployed user-supplied values"]
    assert commands_of(helm) == ["get all"]


def test_upgrade_false_reports_drift(run_helm_module, chart):
    res, helm, _out = run_helm_module(helm_release.main, base_args(chart, values={"a": 2}, upgrade=False),
                                      [status(config={"a": 1})])
    assert res["changed"] is False and res["drift"] is True
    assert res["changes"] == ["values differ from the deployed user-supplied values"]
    assert any("upgrade=false" in w for w in helm.warnings)


def test_pending_install_is_uninstalled_and_installed(run_helm_module, chart):
    res, helm, _out = run_helm_module(helm_release.main, base_args(chart, no_hooks=True), [
        status(status="pending-install"),
        ok(["uninstall", "demo"], "release \"demo\" uninstalled\n"),
        ok(["install", "demo"], release_json()),
    ])
    assert res["changed"] is True and res["status"] == "deployed"
    assert res["recovered"].startswith("pending-install: uninstalled revision 1")
    assert "--no-hooks" in helm.calls[1]["argv"] and "--no-hooks" in helm.calls[2]["argv"]


def test_stuck_uninstalling_is_uninstalled_again_then_installed(run_helm_module, chart):
    res, _helm, _out = run_helm_module(helm_release.main, base_args(chart), [
        status(status="uninstalling"),
        ok(["uninstall", "demo"]),
        ok(["install", "demo"], release_json()),
    ])
    assert res["recovered"].startswith("uninstalling:")


def test_pending_install_whose_delete_hook_fails_is_uninstalled_without_hooks(run_helm_module, chart):
    # The install died in its pre-install hook: the pre-delete hook's namespace never came to exist.
    res, helm, _out = run_helm_module(helm_release.main, base_args(chart), [
        status(status="pending-install"),
        (["uninstall", "demo"], 1, "", 'Error: warning: Hook pre-delete demo/templates/hooks.yaml failed: '
                                       'namespaces "admin" not found\n'),
        ok(["uninstall", "demo"], "release \"demo\" uninstalled\n"),
        ok(["install", "demo"], release_json()),
    ])
    assert res["changed"] is True and res["status"] == "deployed"
    assert "--no-hooks" not in helm.calls[1]["argv"] and "--no-hooks" in helm.calls[2]["argv"]
    assert "--no-hooks" not in helm.calls[3]["argv"]
    assert res["recovered"].startswith("pending-install: uninstalled revision 1")
    assert "without hooks, after the uninstall with hooks failed" in res["recovered"]


def test_reinstall_with_no_hooks_does_not_retry_a_failed_uninstall(run_helm_module, chart):
    res, helm, _out = run_helm_module(helm_release.main, base_args(chart, no_hooks=True), [
        status(status="pending-install"),
        (["uninstall", "demo"], 1, "", "Error: uninstall: Kubernetes cluster unreachable: connection refused\n"),
    ])
    assert res["failed"] and len(helm.calls) == 2


def _history(*items):
    return json.dumps([{"revision": r, "status": s, "chart": "demo-0.1.0", "app_version": "1.0",
                        "description": "", "updated": "2026-01-01T00:00:00Z"} for r, s in items])


def test_pending_upgrade_rolls_back_then_converges(run_helm_module, chart):
    res, helm, _out = run_helm_module(helm_release.main, base_args(chart, values={"a": 2}, wait=True, timeout="2m"), [
        status(status="pending-upgrade", version=3, config={"a": 2}),
        ok(["history", "demo"], _history((1, "superseded"), (2, "superseded"), (3, "pending-upgrade"))),
        ok(["rollback", "demo", "2"], "Rollback was a success! Happy Helming!\n"),
        status(version=4, config={"a": 1}),
        ok(["upgrade", "demo"], release_json(version=5, config={"a": 2})),
    ])
    assert res["recovered"] == "pending-upgrade: rolled back revision 3 to last deployed revision 2"
    assert res["revision"] == 5 and res["changed"] is True
    rollback = helm.calls[2]["argv"]
    assert rollback[rollback.index("--timeout") + 1] == "2m" and WAIT[run_helm_module.major] in rollback
    assert WAIT[run_helm_module.major] in helm.calls[-1]["argv"]


def test_pending_rollback_without_earlier_revision_reapplies_itself(run_helm_module, chart):
    res, _helm, _out = run_helm_module(helm_release.main, base_args(chart), [
        status(status="pending-rollback", version=1),
        ok(["history", "demo"], _history((1, "pending-rollback"))),
        ok(["rollback", "demo", "1"]),
        status(version=2),
    ])
    assert "re-applied revision 1" in res["recovered"] and res["revision"] == 2


def test_failed_is_upgraded(run_helm_module, chart):
    res, _helm, _out = run_helm_module(helm_release.main, base_args(chart), [
        status(status="failed", version=2),
        ok(["upgrade", "demo"], release_json(version=3)),
    ])
    assert res["recovered"] == "failed: upgraded failed revision 2" and res["status"] == "deployed"


def test_failed_with_atomic_is_rolled_back_first(run_helm_module, chart):
    res, helm, _out = run_helm_module(helm_release.main, base_args(chart, atomic=True, values={"a": 1}), [
        status(status="failed", version=2, config={"a": 1}),
        ok(["history", "demo"], _history((1, "deployed"), (2, "failed"))),
        ok(["rollback", "demo", "1"]),
        status(version=3, config={"a": 0}),
        ok(["upgrade", "demo"], release_json(version=4, config={"a": 1})),
    ])
    assert res["recovered"] == "failed: rolled back revision 2 to last deployed revision 1"
    assert ATOMIC[run_helm_module.major] in helm.calls[-1]["argv"]
    assert ATOMIC[7 - run_helm_module.major] not in helm.calls[-1]["argv"]


def test_check_mode_recovery_is_only_reported(run_helm_module, chart):
    res, helm, _out = run_helm_module(helm_release.main, base_args(chart), [status(status="pending-install")], check_mode=True)
    assert res["changed"] is True and res["recovered"].startswith("(check mode, not done) pending-install")
    assert commands_of(helm) == ["get all"]


def test_uninstalled_with_history_is_installed_with_replace(run_helm_module, chart):
    _res, helm, _out = run_helm_module(helm_release.main, base_args(chart), [
        status(status="uninstalled", version=2),
        ok(["install", "demo"], release_json(version=3)),
    ])
    assert "--replace" in helm.calls[1]["argv"]


def test_absent(run_helm_module, chart):
    res, helm, _out = run_helm_module(helm_release.main, {"name": "demo", "namespace": "ns1", "state": "absent",
                                                          "timeout": "90s", "no_hooks": True}, [
        status(),
        ok(["uninstall", "demo"]),
    ], diff=True)
    assert res["changed"] is True and res["status"] == "uninstalled"
    argv = helm.calls[1]["argv"]
    assert argv[argv.index("--timeout") + 1] == "90s" and "--no-hooks" in argv
    assert res["diff"][0]["after"] == "" and "ConfigMap" in res["diff"][0]["before"]
    res, helm, _out = run_helm_module(helm_release.main, {"name": "demo", "namespace": "ns1", "state": "absent"}, [NOT_FOUND])
    assert res["changed"] is False and res["status"] is None


def test_invalid_namespace_fails_before_helm_runs(run_helm_module, chart):
    res, helm, _out = run_helm_module(helm_release.main, base_args(chart, namespace="Bad_NS"), [])
    assert res["failed"] and res["msg"].startswith("namespace 'Bad_NS' is invalid")
    assert helm.calls == []


def test_values_not_a_mapping(run_helm_module, chart, tmp_path):
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n")
    res, helm, _out = run_helm_module(helm_release.main, base_args(chart, values_files=[str(listy)]), [])
    assert res["failed"] and res["msg"].startswith("values_files:") and "mapping" in res["msg"]
    res, helm, _out = run_helm_module(helm_release.main, base_args(chart, values=["a", "b"]), [])
    assert res["failed"] and "values" in res["msg"]
    assert helm.calls == []


def test_bad_timeout(run_helm_module, chart):
    res, _helm, _out = run_helm_module(helm_release.main, base_args(chart, timeout="soon"), [])
    assert res["failed"] and res["msg"].startswith("timeout")


def test_kubernetes_unreachable(run_helm_module, chart):
    res, _helm, _out = run_helm_module(helm_release.main, base_args(chart, kubeconfig="/tmp/kc", context="lab"), [
        (GET, 1, "", "Error: Kubernetes cluster unreachable: Get \"https://10.89.0.1:6443/version\": "
                     "dial tcp 10.89.0.1:6443: connect: connection refused\n"),
    ])
    assert res["failed"] and "Kubernetes is unreachable" in res["msg"] and "kubeconfig" in res["msg"]


def test_kubeconfig_and_context_go_to_helm_env(run_helm_module, chart):
    _res, helm, _out = run_helm_module(helm_release.main, base_args(chart, kubeconfig="/tmp/kc", context="lab"),
                                       [status()])
    assert helm.calls[0]["env"] == {"KUBECONFIG": "/tmp/kc", "HELM_KUBECONTEXT": "lab"}


def test_local_chart_version_mismatch(run_helm_module, chart):
    res, _helm, _out = run_helm_module(helm_release.main, base_args(chart, chart_version="9.9.9"), [NOT_FOUND])
    assert res["failed"] and res["msg"].startswith("chart_version 9.9.9 does not match")


# -- OCI: pulls, registry login, secrets ---------------------------------------------------------------

OCI = "oci://10.89.0.1:5000/charts/demo"


def _pull(args):
    dest = args[args.index("--destination") + 1]
    write_chart_tgz(os.path.join(dest, "demo-0.1.0.tgz"))
    return "Pulled: 10.89.0.1:5000/charts/demo:0.1.0\nDigest: sha256:%s\n" % ("b" * 64)


def oci_args(**kw):
    args = {"name": "demo", "namespace": "ns1", "chart_ref": OCI, "chart_version": "0.1.0", "plain_http": True,
            "registry": {"username": "kaapana-lab", "password": SECRET}}
    args.update(kw)
    return args


@pytest.fixture
def registry_config(tmp_path, monkeypatch):
    path = tmp_path / "registry.json"
    monkeypatch.setenv("HELM_REGISTRY_CONFIG", str(path))
    return path


def test_oci_noop_logs_in_with_a_private_registry_config_of_this_run(run_helm_module, registry_config):
    # Credentials stored by an earlier login in the user's helm config are not used, and nothing is written there:
    # the login goes to a registry config in the module's temporary directory.
    auth = base64.b64encode(("kaapana-lab:" + SECRET).encode()).decode()
    registry_config.write_text(json.dumps({"auths": {"10.89.0.1:5000": {"auth": auth}}}))
    before = registry_config.read_text()
    res, helm, out = run_helm_module(helm_release.main, oci_args(), [
        status(),
        ok(["registry", "login", "10.89.0.1:5000"], "Login Succeeded\n"),
        (["pull", OCI], 0, _pull, ""),
    ])
    assert res["changed"] is False and len(res["commands"]) == 4
    assert res["oci_digest"] == "sha256:" + "b" * 64
    private = helm.calls[1]["env"]["HELM_REGISTRY_CONFIG"]
    assert private != str(registry_config) and private == helm.calls[2]["env"]["HELM_REGISTRY_CONFIG"]
    assert "HELM_REGISTRY_CONFIG" not in helm.calls[0]["env"]
    assert registry_config.read_text() == before
    assert "--plain-http" in helm.calls[2]["argv"] and "--version" in helm.calls[2]["argv"]
    assert SECRET not in out


def test_oci_logs_in_when_credentials_are_missing(run_helm_module, registry_config):
    res, helm, out = run_helm_module(helm_release.main, oci_args(), [
        NOT_FOUND,
        ok(["registry", "login", "10.89.0.1:5000"], "Login Succeeded\n"),
        (["pull", OCI], 0, _pull, ""),
        ok(["install", "demo"], release_json()),
    ])
    login = helm.calls[1]
    assert login["data"] == SECRET and SECRET not in " ".join(login["argv"])
    assert "--password-stdin" in login["argv"] and "--plain-http" in login["argv"]
    assert res["changed"] is True and SECRET not in out


def test_wrong_password_fails_clearly_without_leaking(run_helm_module, registry_config):
    res, helm, out = run_helm_module(helm_release.main, oci_args(), [
        NOT_FOUND,
        (["registry", "login", "10.89.0.1:5000"], 1, "",
         'Error: authenticating to "10.89.0.1:5000": GET "http://10.89.0.1:5000/v2/": response status code 401: '
         'Unauthorized (password was %s)\n' % SECRET),
    ])
    assert res["failed"]
    assert "refused the credentials" in res["msg"] and "registry.password" in res["msg"]
    assert SECRET not in out


def test_oci_chart_not_found(run_helm_module, registry_config):
    res, _helm, _out = run_helm_module(helm_release.main, oci_args(registry=None, chart_version="9.9.9"), [
        NOT_FOUND,
        (["pull", OCI], 1, "", 'Error: failed to perform "FetchReference" on source: GET "http://10.89.0.1:5000/v2/'
                               'charts/demo/manifests/9.9.9": response status code 404: manifest unknown\n'),
    ])
    assert res["failed"] and "not found" in res["msg"] and "chart_version" in res["msg"]


def test_oci_needs_credentials(run_helm_module, registry_config):
    res, _helm, _out = run_helm_module(helm_release.main, oci_args(registry=None), [
        NOT_FOUND,
        (["pull", OCI], 1, "", "Error: failed to authorize: failed to fetch oauth token: basic credential not found\n"),
    ])
    assert res["failed"] and "registry.username" in res["msg"]


REFUSED = ('Error: failed to do request: Head "http://10.89.0.1:5000/v2/charts/demo/manifests/0.1.0": dial tcp '
           '10.89.0.1:5000: connect: connection refused\n')


@pytest.fixture
def no_sleep(monkeypatch):
    slept = []
    monkeypatch.setattr(helm_manager.ReleaseManager, "sleep", lambda self, seconds: slept.append(seconds))
    return slept


def test_pull_is_retried_while_the_registry_is_down(run_helm_module, registry_config, no_sleep):
    res, helm, _out = run_helm_module(helm_release.main, oci_args(registry=None), [
        NOT_FOUND,
        (["pull", OCI], 1, "", REFUSED),
        (["pull", OCI], 1, "", REFUSED),
        (["pull", OCI], 0, _pull, ""),
        ok(["install", "demo"], release_json()),
    ])
    assert res["changed"] is True and no_sleep == [2, 4]
    assert commands_of(helm).count("pull " + OCI) == 3


def test_pull_gives_up_clearly_after_its_retries(run_helm_module, registry_config, no_sleep):
    res, helm, _out = run_helm_module(helm_release.main, oci_args(registry=None, pull_retries=2), [
        NOT_FOUND,
        (["pull", OCI], 1, "", REFUSED),
        (["pull", OCI], 1, "", REFUSED),
        (["pull", OCI], 1, "", REFUSED),
    ])
    assert res["failed"] and no_sleep == [2, 4]
    assert "cannot reach the chart source" in res["msg"] and OCI in res["msg"]
    assert "gave up after 3 attempts over 6 s (pull_retries=2)" in res["msg"]


def test_not_found_is_not_retried(run_helm_module, registry_config, no_sleep):
    res, helm, _out = run_helm_module(helm_release.main, oci_args(registry=None, chart_version="9.9.9"), [
        NOT_FOUND,
        (["pull", OCI], 1, "", "Error: GET \"http://10.89.0.1:5000/v2/charts/demo/manifests/9.9.9\": "
                               "response status code 404: manifest unknown\n"),
    ])
    assert res["failed"] and "not found" in res["msg"] and no_sleep == []


def test_login_is_retried_too(run_helm_module, registry_config, no_sleep):
    res, helm, out = run_helm_module(helm_release.main, oci_args(), [
        NOT_FOUND,
        (["registry", "login", "10.89.0.1:5000"], 1, "",
         "Error: Get \"http://10.89.0.1:5000/v2/\": dial tcp 10.89.0.1:5000: i/o timeout\n"),
        ok(["registry", "login", "10.89.0.1:5000"], "Login Succeeded\n"),
        (["pull", OCI], 0, _pull, ""),
        ok(["install", "demo"], release_json()),
    ])
    assert res["changed"] is True and no_sleep == [2]
    assert all(c["data"] == SECRET for c in helm.calls if c["argv"][1:3] == ["registry", "login"])
    assert SECRET not in out


def test_content_change_at_same_version_is_detected(run_helm_module, tmp_path):
    edited = dict(CHART_FILES)
    edited["templates/extra.yaml"] = b"kind: Secret\n"
    chart = write_chart_tgz(tmp_path / "edited.tgz", edited)
    res, _helm, _out = run_helm_module(helm_release.main, base_args(chart), [
        status(), ok(["upgrade", "demo"], release_json(files=edited, version=2))], check_mode=False)
    assert res["changed"] is True and res["revision"] == 2
    assert helm_chart.load_chart(chart)["digest"] == res["chart_digest"]


def test_server_side_reaches_helm4_only(run_helm_module, chart):
    """server_side=false: Helm 4 gets --server-side=false on upgrade; Helm 3 applies client-side anyway."""
    res, helm, _out = run_helm_module(helm_release.main, base_args(chart, values={"a": 2}, server_side=False), [
        status(config={"a": 1}),
        ok(["upgrade", "demo"], release_json(version=2, config={"a": 2})),
    ])
    assert res["changed"] is True
    flags = [a for a in helm.calls[-1]["argv"] if a.startswith("--server-side")]
    assert flags == {3: [], 4: ["--server-side=false"]}[run_helm_module.major]


def test_server_side_true_fails_on_helm3_before_any_change(run_helm_module, chart):
    script = [status(config={"a": 1}), ok(["upgrade", "demo"], release_json(version=2, config={"a": 2}))]
    res, helm, _out = run_helm_module(helm_release.main, base_args(chart, values={"a": 2}, server_side="true"),
                                      script if run_helm_module.major == 4 else [])
    if run_helm_module.major == 3:
        assert res["failed"] and "server_side=true needs Helm 4" in res["msg"] and helm.calls == []
        assert res["helm_major"] == 3 and res["commands"] == [VERSION]
    else:
        assert res["changed"] is True and "--server-side=true" in helm.calls[-1]["argv"]


@pytest.mark.parametrize("version,needle", [
    ("v3.12.3", "is helm v3.12.3, too old"),
    ("v2.17.0", "a major version this module does not support"),
])
def test_unsupported_helm_fails_naming_helm_binary(run_helm_module, chart, version, needle):
    res, helm, _out = run_helm_module(helm_release.main, base_args(chart), [], version=version)
    assert res["failed"] and "helm_binary /usr/bin/helm" in res["msg"] and needle in res["msg"]
    assert res["commands"] == [VERSION] and helm.calls == []
