# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Lab tests of kaapana.platform.helm_release and helm_release_info, run through real ansible-playbook.

Every test uses its own namespace (and its own helm registry configuration, so that the registry login
path is exercised and the developer's ~/.config/helm stays untouched) and removes what it created.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import gzip
import itertools
import json
import os
import subprocess
import sys
import textwrap
import uuid

import pytest

pytestmark = pytest.mark.lab

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
CHART = "kp-it-helm-release"
CHART_VERSION = "0.1.0"
_counter = itertools.count()


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------

def lab_env(lab, registry_config):
    env = lab.env()
    env.update({
        "HELM_REGISTRY_CONFIG": str(registry_config),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
    })
    return env


def run_helm(lab, env, *args, check=True, input_text=None):
    proc = subprocess.run([lab.helm] + list(args), env=env, capture_output=True, text=True, input=input_text,
                          timeout=300, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("helm %s failed: %s" % (" ".join(args), proc.stderr))
    return proc


def run_task(lab, tmp_path, env, module, args, check=False, diff=False, verbose=False):
    """Run one task through ansible-playbook; returns (result or None, CompletedProcess).

    The result is parsed from the ansible.posix.json callback; with verbose=True the default callback
    runs at -vvv instead (for the secret-leak checks) and no result is parsed.
    """
    play = [{
        "name": "helm_release lab test",
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "vars": {"ansible_python_interpreter": sys.executable},
        "tasks": [{"name": "module under test", module: args}],
    }]
    path = tmp_path / ("play-%d.yml" % next(_counter))
    path.write_text(json.dumps(play, indent=2))
    run_env = dict(env)
    run_env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.builtin.default" if verbose else "ansible.posix.json"
    cmd = [ANSIBLE_PLAYBOOK, "-i", "localhost,", str(path)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if verbose:
        cmd.append("-vvv")
    proc = subprocess.run(cmd, env=run_env, capture_output=True, text=True, cwd=ROOT, timeout=600, check=False)
    if verbose:
        return None, proc
    try:
        data = json.loads(proc.stdout)
        result = data["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        raise AssertionError("cannot parse ansible-playbook output (rc %s):\n%s\n%s"
                             % (proc.returncode, proc.stdout[-4000:], proc.stderr[-4000:]))
    return result, proc


def configmap(lab, namespace, name):
    proc = lab.kubectl_run("-n", namespace, "get", "configmap", name, "-o", "json", check=False)
    return json.loads(proc.stdout) if proc.returncode == 0 else None


def helm_status(lab, env, namespace, name):
    return json.loads(run_helm(lab, env, "status", name, "-n", namespace, "-o", "json").stdout)


def force_release_status(lab, namespace, name, status):
    """Rewrite the newest release Secret as if helm had died mid-operation.

    Helm keeps a release revision in Secret sh.helm.release.v1.<name>.v<N>: label ``status`` (used by
    helm list) and ``data.release`` = base64(gzip(release JSON)) (base64 once more in the Secret API),
    whose ``info.status`` is what helm status/upgrade read. Both are set to ``status``.
    """
    proc = lab.kubectl_run("-n", namespace, "get", "secret", "-l", "owner=helm,name=%s" % name, "-o", "json")
    items = json.loads(proc.stdout)["items"]
    newest = max(items, key=lambda s: int(s["metadata"]["labels"]["version"]))
    stored = base64.b64decode(newest["data"]["release"])
    release = json.loads(gzip.decompress(base64.b64decode(stored)))
    release["info"]["status"] = status
    stored = base64.b64encode(gzip.compress(json.dumps(release).encode()))
    newest["data"]["release"] = base64.b64encode(stored).decode()
    newest["metadata"]["labels"]["status"] = status
    lab.kubectl_run("-n", namespace, "replace", "-f", "-", input_text=json.dumps(newest))
    return int(newest["metadata"]["labels"]["version"])


def assert_secret_absent(secret, *texts):
    for text in texts:
        assert secret not in text, "the registry password leaked"


# ---------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------

CHART_FILES = {
    "Chart.yaml": """\
        apiVersion: v2
        name: %s
        version: %s
        appVersion: "1.0"
        description: kaapana.platform helm_release lab test chart
        """ % (CHART, CHART_VERSION),
    "values.yaml": """\
        message: default
        """,
    "templates/configmap.yaml": """\
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {{ .Release.Name }}-config
        data:
          message: {{ .Values.message | quote }}
        """,
    # Helm does not delete hook resources on uninstall: the ConfigMap proves the pre-delete hook ran.
    "templates/pre-delete-hook.yaml": """\
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {{ .Release.Name }}-pre-delete-hook
          annotations:
            helm.sh/hook: pre-delete
            helm.sh/hook-delete-policy: before-hook-creation
        data:
          ran: "true"
        """,
}


def helm_calls(res):
    """The helm commands of a module result besides reading helm's version, which happens at most once per run
    (the first call) and names the lab's major."""
    version = [c for c in res["commands"] if c.endswith(" version --template '{{.Version}}'")]
    assert len(version) <= 1 and (not version or res["commands"][0] == version[0]), res["commands"]
    return [c for c in res["commands"] if c not in version]


@pytest.fixture(scope="module", params=[3, 4], ids=["helm3", "helm4"])
def lab(request, lab):
    """Every test here runs once with Helm 3 and once with Helm 4 (the modules' helm_binary and the test's own
    helm calls); the test ids name the major."""
    return lab.with_helm(request.param)


@pytest.fixture(scope="module")
def it_chart(lab, tmp_path_factory):
    """A small chart pushed to the lab registry with the lab credentials (its own registry config)."""
    root = tmp_path_factory.mktemp("helm-release-chart")
    src = root / CHART
    for name, text in CHART_FILES.items():
        path = src / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    env = lab_env(lab, root / "registry.json")
    run_helm(lab, env, "package", str(src), "--destination", str(root))
    run_helm(lab, env, "registry", "login", lab.registry, "--username", lab.registry_user, "--password-stdin",
             "--plain-http", input_text=lab.registry_password())
    run_helm(lab, env, "push", str(root / ("%s-%s.tgz" % (CHART, CHART_VERSION))), "oci://%s/charts" % lab.registry,
             "--plain-http")
    return "oci://%s/charts/%s" % (lab.registry, CHART)


@pytest.fixture
def ns(lab):
    name = "hr-" + uuid.uuid4().hex[:8]
    yield name
    lab.kubectl_run("delete", "namespace", name, "--ignore-not-found", "--wait=false", check=False)


@pytest.fixture
def env(lab, tmp_path):
    """ansible-playbook environment with a fresh (empty) helm registry configuration."""
    return lab_env(lab, tmp_path / "helm-registry.json")


def release_args(lab, chart_ref, namespace, name="demo", **kw):
    args = {
        "name": name,
        "namespace": namespace,
        "create_namespace": True,
        "chart_ref": chart_ref,
        "chart_version": CHART_VERSION,
        "plain_http": True,
        "registry": {"username": lab.registry_user, "password": lab.registry_password()},
        "helm_binary": lab.helm,
        "kubeconfig": lab.kubeconfig,
        "timeout": "2m",
    }
    args.update(kw)
    return args


# ---------------------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------------------

def test_install_noop_value_change_and_check_mode(lab, it_chart, ns, env, tmp_path):
    password = lab.registry_password()
    res, proc = run_task(lab, tmp_path, env, "kaapana.platform.helm_release",
                         release_args(lab, it_chart, ns, values={"message": "one"}))
    assert res.get("failed") is not True, res
    assert res["changed"] is True and res["status"] == "deployed" and res["revision"] == 1
    assert res["chart"] == CHART and res["chart_version"] == CHART_VERSION and res["app_version"] == "1.0"
    # the registry configuration was empty: login once, password on stdin only
    logins = [c for c in res["commands"] if " registry login " in c]
    assert len(logins) == 1 and "--password-stdin" in logins[0]
    assert_secret_absent(password, proc.stdout, proc.stderr)
    assert configmap(lab, ns, "demo-config")["data"]["message"] == "one"

    # second run: nothing to do, no upgrade; three helm calls (status, login to this run's private registry
    # configuration, pull) besides reading helm's version once, and nothing stored in the helm registry
    # configuration of the environment
    res, _proc = run_task(lab, tmp_path, env, "kaapana.platform.helm_release",
                          release_args(lab, it_chart, ns, values={"message": "one"}))
    assert res["changed"] is False, res
    assert not any(" upgrade " in c for c in res["commands"]), res["commands"]
    assert len(helm_calls(res)) == 3, res["commands"]
    stored = env["HELM_REGISTRY_CONFIG"]
    assert not os.path.exists(stored) or lab.registry not in open(stored).read()
    assert res["revision"] == 1 and res["recovered"] is None

    # check mode with a new value: reports the change, leaves the release alone
    res, _proc = run_task(lab, tmp_path, env, "kaapana.platform.helm_release",
                          release_args(lab, it_chart, ns, values={"message": "two"}), check=True)
    assert res["changed"] is True
    assert "values differ from the deployed user-supplied values" in res["changes"]
    assert not any(" upgrade " in c or " install " in c for c in res["commands"])
    assert helm_status(lab, env, ns, "demo")["version"] == 1
    assert configmap(lab, ns, "demo-config")["data"]["message"] == "one"

    # the value change, with diff: values diff and manifest diff, without any helm plugin
    res, proc = run_task(lab, tmp_path, env, "kaapana.platform.helm_release",
                         release_args(lab, it_chart, ns, values={"message": "two"}), diff=True)
    assert res["changed"] is True and res["revision"] == 2, res
    values_diff, manifest_diff = res["diff"]
    assert "message: one" in values_diff["before"] and "message: two" in values_diff["after"]
    assert '"one"' in manifest_diff["before"] and '"two"' in manifest_diff["after"]
    assert any(" template " in c for c in res["commands"])
    assert configmap(lab, ns, "demo-config")["data"]["message"] == "two"

    res, _proc = run_task(lab, tmp_path, env, "kaapana.platform.helm_release",
                          release_args(lab, it_chart, ns, values={"message": "two"}), diff=True)
    assert res["changed"] is False and res["revision"] == 2

    # install-only: the drift is reported, not applied
    res, _proc = run_task(lab, tmp_path, env, "kaapana.platform.helm_release",
                          release_args(lab, it_chart, ns, values={"message": "three"}, upgrade=False))
    assert res["changed"] is False and res["drift"] is True and res["revision"] == 2
    assert configmap(lab, ns, "demo-config")["data"]["message"] == "two"


@pytest.mark.reliability('faults', 'helm_release recovers a release stuck in pending-upgrade')
def test_pending_upgrade_is_recovered(lab, it_chart, ns, env, tmp_path):
    for message in ("one", "two"):
        res, _proc = run_task(lab, tmp_path, env, "kaapana.platform.helm_release",
                              release_args(lab, it_chart, ns, values={"message": message}))
        assert res.get("failed") is not True, res
    assert force_release_status(lab, ns, "demo", "pending-upgrade") == 2
    # helm itself refuses to touch it now (logged in by hand: the module leaves no credentials behind)
    run_helm(lab, env, "registry", "login", lab.registry, "--username", lab.registry_user, "--password-stdin",
             "--plain-http", input_text=lab.registry_password())
    upgrade = run_helm(lab, env, "upgrade", "demo", it_chart, "--version", CHART_VERSION, "-n", ns, "--plain-http",
                       check=False)
    assert upgrade.returncode != 0 and "another operation" in upgrade.stderr

    info, _proc = run_task(lab, tmp_path, env, "kaapana.platform.helm_release_info",
                           {"namespaces": [ns], "states": ["pending-upgrade"], "helm_binary": lab.helm,
                            "kubeconfig": lab.kubeconfig})
    assert [(r["name"], r["status"], r["revision"]) for r in info["releases"]] == [("demo", "pending-upgrade", 2)]

    res, _proc = run_task(lab, tmp_path, env, "kaapana.platform.helm_release",
                          release_args(lab, it_chart, ns, values={"message": "three"}))
    assert res.get("failed") is not True, res
    assert res["changed"] is True and res["status"] == "deployed"
    assert res["recovered"] == "pending-upgrade: rolled back revision 2 to last deployed revision 1"
    assert res["revision"] == 4  # 3 = rollback, 4 = upgrade to the desired values
    assert configmap(lab, ns, "demo-config")["data"]["message"] == "three"

    res, _proc = run_task(lab, tmp_path, env, "kaapana.platform.helm_release",
                          release_args(lab, it_chart, ns, values={"message": "three"}))
    assert res["changed"] is False and res["recovered"] is None

    info, _proc = run_task(lab, tmp_path, env, "kaapana.platform.helm_release_info",
                           {"namespaces": [ns], "name": "^demo$", "helm_binary": lab.helm,
                            "kubeconfig": lab.kubeconfig})
    assert [(r["name"], r["status"], r["revision"], r["chart"], r["chart_version"]) for r in info["releases"]] == \
        [("demo", "deployed", 4, CHART, CHART_VERSION)]


def test_uninstall_with_and_without_hooks(lab, it_chart, ns, env, tmp_path):
    for name in ("hooked", "hookless"):
        res, _proc = run_task(lab, tmp_path, env, "kaapana.platform.helm_release",
                              release_args(lab, it_chart, ns, name=name))
        assert res["changed"] is True, res

    res, _proc = run_task(lab, tmp_path, env, "kaapana.platform.helm_release",
                          {"name": "hooked", "namespace": ns, "state": "absent", "wait": True, "timeout": "90s",
                           "helm_binary": lab.helm, "kubeconfig": lab.kubeconfig})
    assert res["changed"] is True and res["status"] == "uninstalled", res
    uninstall = [c for c in res["commands"] if " uninstall " in c]
    assert len(uninstall) == 1 and "--timeout 90s" in uninstall[0] and "--no-hooks" not in uninstall[0]
    assert configmap(lab, ns, "hooked-pre-delete-hook") is not None, "the pre-delete hook should have run"
    assert configmap(lab, ns, "hooked-config") is None

    res, _proc = run_task(lab, tmp_path, env, "kaapana.platform.helm_release",
                          {"name": "hookless", "namespace": ns, "state": "absent", "no_hooks": True, "timeout": 60,
                           "helm_binary": lab.helm, "kubeconfig": lab.kubeconfig})
    assert res["changed"] is True and res["status"] == "uninstalled", res
    assert any("--no-hooks" in c and "--timeout 60s" in c for c in res["commands"])
    assert configmap(lab, ns, "hookless-pre-delete-hook") is None, "--no-hooks must skip the pre-delete hook"
    assert configmap(lab, ns, "hookless-config") is None

    res, _proc = run_task(lab, tmp_path, env, "kaapana.platform.helm_release",
                          {"name": "hookless", "namespace": ns, "state": "absent",
                           "helm_binary": lab.helm, "kubeconfig": lab.kubeconfig})
    assert res["changed"] is False and len(helm_calls(res)) == 1 and " get all " in helm_calls(res)[0], res


@pytest.mark.reliability('secrets', 'a wrong registry password fails clearly and never appears in output')
def test_wrong_registry_password_fails_clearly_without_leaking(lab, it_chart, ns, env, tmp_path):
    wrong = "wrong-" + uuid.uuid4().hex
    args = release_args(lab, it_chart, ns, registry={"username": lab.registry_user, "password": wrong})
    res, proc = run_task(lab, tmp_path, env, "kaapana.platform.helm_release", args)
    assert res["failed"] is True
    assert "refused the credentials" in res["msg"] and "registry.password" in res["msg"], res["msg"]
    assert_secret_absent(wrong, proc.stdout, proc.stderr, json.dumps(res))

    _res, proc = run_task(lab, tmp_path, env, "kaapana.platform.helm_release", args, verbose=True)
    assert proc.returncode != 0
    assert "refused the credentials" in proc.stdout + proc.stderr
    assert_secret_absent(wrong, proc.stdout, proc.stderr)
    assert run_helm(lab, env, "status", "demo", "-n", ns, check=False).returncode != 0


def test_unreachable_cluster_names_the_option(lab, it_chart, ns, env, tmp_path):
    broken = tmp_path / "unreachable.kubeconfig"
    with open(lab.kubeconfig) as handle:
        broken.write_text(handle.read().replace(lab.api_server, lab.api_server.rsplit(":", 1)[0] + ":1"))
    res, _proc = run_task(lab, tmp_path, env, "kaapana.platform.helm_release",
                          release_args(lab, it_chart, ns, kubeconfig=str(broken)))
    assert res["failed"] is True and "Kubernetes is unreachable" in res["msg"] and "kubeconfig" in res["msg"], res


@pytest.fixture
def admin_namespaces(lab):
    uid = uuid.uuid4().hex[:6]
    names = {k: "hr%s-%s" % (uid, k) for k in ("default", "admin", "services", "extensions", "project")}
    yield names
    lab.kubectl_run("delete", "namespace", "--ignore-not-found", "--wait=false", *names.values(), check=False)


def test_kaapana_admin_chart_from_the_lab_registry(lab, admin_namespaces, env, tmp_path):
    """The lab's stand-in for Kaapana's chart (pushed by `lab up`): schema, many templates, hooks."""
    names = admin_namespaces
    values = {
        "global": {
            "admin_namespace": names["admin"], "helm_namespace": names["admin"],
            "services_namespace": names["services"], "extensions_namespace": names["extensions"],
            "hostname": "kaapana.lab.test", "credentials_registry_username": lab.registry_user,
        },
        "lab": {"createStorageClasses": False, "projectNamespace": names["project"]},
    }
    args = release_args(lab, "oci://%s/charts/kaapana-admin-chart" % lab.registry, names["default"],
                        name="kaapana-admin-chart", chart_version="0.6.0-lab", values=values, timeout="5m")
    res, _proc = run_task(lab, tmp_path, env, "kaapana.platform.helm_release", args)
    assert res.get("failed") is not True, res
    assert res["changed"] is True and res["status"] == "deployed" and res["chart"] == "kaapana-admin-chart"
    assert res["oci_digest"].startswith("sha256:")

    res, _proc = run_task(lab, tmp_path, env, "kaapana.platform.helm_release", args)
    assert res["changed"] is False and len(helm_calls(res)) == 3 and res["revision"] == 1, res

    res, _proc = run_task(lab, tmp_path, env, "kaapana.platform.helm_release",
                          {"name": "kaapana-admin-chart", "namespace": names["default"], "state": "absent",
                           "timeout": "5m", "helm_binary": lab.helm, "kubeconfig": lab.kubeconfig})
    assert res["changed"] is True, res
    evidence = configmap(lab, names["default"], "kaapana-hook-evidence")
    assert evidence is not None and evidence["data"]["hook"] == "post-delete"
