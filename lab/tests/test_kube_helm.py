"""The kube-helm stand-in (lab/standins/kube_helm.py).

Unit part: how it reads Kaapana's PREINSTALL_EXTENSIONS and a Job's env, the installs with a fake API and helm,
and handle-secret.sh's install/copy for the cert-init/cert-copy Jobs against an in-memory fake of the Secrets API
(the certificate is made for real, with the `cryptography` package). Lab part (a real lab; brought up if it
is not up, taken down afterwards only if this module started it): a real `helm install` of the admin chart pulled
from the lab registry makes the stand-in install the three preinstall extensions after its delay, as their own
releases in the Helm namespace with the admin release's values; their pods that mount a Kaapana PVC run on the
storage node; the TLS Secret `certificate` appears in the admin namespace (cert-init) and the services namespace
(cert-copy) and survives the undeploy; a restarted stand-in installs nothing twice; undeploying installs nothing
again; and the fault value lab.preinstallFailRelease leaves that release `failed`.
"""
import base64
import datetime
import ipaddress
import json
import logging
import os
import subprocess
import sys
import tarfile
import time

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from kubernetes import client

from lab import cli
from lab.config import CONFIG, ROOT
from lab.procs import ProcessTable
from lab.standins import kube_helm

PHASE2 = ["kaapana-platform-chart", "code-server-chart", "kaapana-workflows-core"]
KHTEST_HOST = "kaapana.khtest.example"


# ---------------------------------------------------------------------------------------------
# unit
# ---------------------------------------------------------------------------------------------
def test_preinstall_extensions_as_kaapana_writes_them():
    # kube-helm-chart's template leaves a trailing comma; preinstall_extensions.py strips it
    text = '[{"name": "kaapana-platform-chart", "version": "0.6.1"},{"name": "code-server-chart", "version": "0.6.1"},]'
    assert kube_helm.preinstall_extensions(text) == [{"name": "kaapana-platform-chart", "version": "0.6.1"},
                                                     {"name": "code-server-chart", "version": "0.6.1"}]
    assert kube_helm.preinstall_extensions(None) == []


class _Obj:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def _job(uid, age, annotated=True, namespace="adm"):
    extensions = '[{"name": "a-chart", "version": "1.0"},{"name": "b-chart", "version": "1.0"},]'
    env = [_Obj(name="PREINSTALL_EXTENSIONS", value=extensions),
           _Obj(name="HELM_NAMESPACE", value="helmns")]
    created = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=age)
    meta = _Obj(name="init-extensions", namespace=namespace, uid=uid, creation_timestamp=created,
                deletion_timestamp=None,
                annotations={"kaapana.lab/values-secret": "rel-preinstall-values"} if annotated else {})
    return _Obj(metadata=meta, spec=_Obj(template=_Obj(spec=_Obj(containers=[_Obj(env=env)]))))


class _FakeStandin(kube_helm.KubeHelm):
    """The stand-in with the lab API and helm replaced: records helm's argv and what the values file held."""

    def __init__(self, state_dir, jobs, delay=3.0):
        super().__init__(None, "/lab/admin.kubeconfig", "/lab/helm", "10.89.0.1:5000", "kaapana-lab",
                         "/dev/null", str(state_dir), delay=delay)
        self.jobs, self.calls, self.values_seen, self.deployed = jobs, [], [], set()
        self.batch = _Obj(list_job_for_all_namespaces=lambda **kw: _Obj(items=list(self.jobs.values())),
                          read_namespaced_job=self._read_job)
        self.core = _Obj(read_namespaced_secret=lambda name, ns: _Obj(data={
            "values.yaml": "Z2xvYmFsOiB7Y3JlZGVudGlhbHNfbWluaW9fcGFzc3dvcmQ6IHMzY3JldH0K"}))  # password s3cret

    def _read_job(self, name, namespace):
        for job in self.jobs.values():
            if job.metadata.namespace == namespace and job.metadata.name == name:
                return job
        raise kube_helm.ApiException(status=404)

    def login(self):
        return True

    def run_helm(self, *args, input_text=None, timeout=600):
        self.calls.append(list(args))
        if args[0] == "status":
            found = args[1] in self.deployed
            return _Obj(returncode=0 if found else 1, stderr="",
                        stdout=json.dumps({"info": {"status": "deployed"}, "chart": {"metadata": {"version": "1.0"}}}))
        if args[0] == "upgrade":
            path = args[args.index("-f") + 1]
            self.values_seen.append((oct(os.stat(path).st_mode & 0o777), open(path).read()))
            self.deployed.add(args[2])
        return _Obj(returncode=0, stdout="", stderr="")


def _installs(standin):
    return [c[2] for c in standin.calls if c[0] == "upgrade"]


def test_standin_waits_for_the_delay_and_installs_once_per_job_uid(tmp_path):
    jobs = {"j1": _job("uid-1", age=1)}
    standin = _FakeStandin(tmp_path, jobs)
    standin.sync()
    assert not standin.calls  # within the delay
    jobs["j1"] = _job("uid-1", age=4)
    standin.sync()
    assert _installs(standin) == ["a-chart", "b-chart"]
    upgrade = [c for c in standin.calls if c[0] == "upgrade"][0]
    assert upgrade[:8] == ["upgrade", "--install", "a-chart", "oci://10.89.0.1:5000/charts/a-chart", "--version", "1.0",
                           "-n", "helmns"]
    assert not any("s3cret" in arg for call in standin.calls for arg in call)
    assert standin.values_seen[0] == ("0o600", "global: {credentials_minio_password: s3cret}\n")
    assert not os.listdir(tmp_path / "values")  # the values file is gone
    standin.sync()
    assert _installs(standin) == ["a-chart", "b-chart"]  # once per Job UID
    # a restarted stand-in remembers the Job
    again = _FakeStandin(tmp_path, jobs)
    again.sync()
    assert not again.calls
    # a new Job (a redeploy of the admin chart) installs again; deployed releases are skipped as kube-helm does
    jobs["j1"] = _job("uid-2", age=5)
    again.deployed = {"a-chart"}
    again.sync()
    assert _installs(again) == ["b-chart"]


def test_standin_abandons_a_deleted_job_and_ignores_foreign_ones(tmp_path):
    jobs = {"j1": _job("uid-1", age=10)}
    standin = _FakeStandin(tmp_path, jobs)

    def gone(name, namespace):
        raise kube_helm.ApiException(status=404)
    standin.batch.read_namespaced_job = gone
    standin.sync()  # the Job is gone by the time it would install (undeploy): nothing is installed
    assert not _installs(standin)
    foreign = _FakeStandin(tmp_path / "other", {"j": _job("uid-9", age=10, annotated=False)})
    foreign.sync()
    foreign.sync()
    assert not foreign.calls and foreign.handled["uid-9"]["ignored"]


# ---------------------------------------------------------------------------------------------
# unit: the cert-init / cert-copy Jobs (handle-secret.sh)
# ---------------------------------------------------------------------------------------------
class _FakeCore:
    """Secrets and Namespaces of a fake API: 404 for what is missing, 409 for a Secret that exists."""

    def __init__(self, namespaces=("adm", "svc")):
        self.namespaces, self.secrets, self.created = set(namespaces), {}, []

    def read_namespace(self, name):
        if name not in self.namespaces:
            raise kube_helm.ApiException(status=404, reason="Not Found")
        return _Obj(metadata=_Obj(name=name))

    def read_namespaced_secret(self, name, namespace):
        if (namespace, name) not in self.secrets:
            raise kube_helm.ApiException(status=404, reason="Not Found")
        return self.secrets[(namespace, name)]

    def create_namespaced_secret(self, namespace, body):
        if namespace not in self.namespaces:
            raise kube_helm.ApiException(status=404, reason="Not Found")
        if (namespace, body.metadata.name) in self.secrets:
            raise kube_helm.ApiException(status=409, reason="AlreadyExists")
        body.metadata.namespace = namespace
        self.secrets[(namespace, body.metadata.name)] = body
        self.created.append((namespace, body.metadata.name))
        return body

    def put(self, namespace, name, crt="Y3J0", key="a2V5", **meta):
        self.secrets[(namespace, name)] = client.V1Secret(
            metadata=client.V1ObjectMeta(name=name, namespace=namespace, **meta), type="kubernetes.io/tls",
            data={"tls.crt": crt, "tls.key": key})


def _cert_job(uid, action, age=10, hostname="kaapana.example.org", target="svc", succeeded=1, failed=False):
    env = [_Obj(name="ACTION", value=action), _Obj(name="SECRET_NAME", value="certificate"),
           _Obj(name="SECRET_NAMESPACE", value=target), _Obj(name="ADMIN_NAMESPACE", value="adm"),
           _Obj(name="COMMON_NAME", value="kaapana"), _Obj(name="EXPIRATION", value="365")]
    if action == "install":
        env.append(_Obj(name="HOSTNAME", value=hostname))
    created = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=age)
    name = {"install": "cert-init-x7q", "copy": "cert-copy-4kd"}.get(action, "remove-secret-a1b")
    meta = _Obj(name=name, namespace="adm", uid=uid, creation_timestamp=created, deletion_timestamp=None,
                annotations={})
    status = _Obj(succeeded=succeeded, conditions=[_Obj(type="Failed", status="True")] if failed else None)
    return _Obj(metadata=meta, status=status, spec=_Obj(template=_Obj(spec=_Obj(containers=[_Obj(env=env)]))))


@pytest.fixture
def cert_standin(tmp_path, monkeypatch):
    """A stand-in over a fake API with the namespaces adm and svc; RSA 2048 to keep the tests quick (one test
    checks Kaapana's 4096)."""
    monkeypatch.setattr(kube_helm, "RSA_BITS", 2048)

    def make(jobs, core=None, state=tmp_path):
        standin = _FakeStandin(state, jobs)
        standin.core = core if core is not None else _FakeCore()
        return standin
    return make


def _certificate(secret):
    return x509.load_pem_x509_certificate(base64.b64decode(secret.data["tls.crt"]))


def test_cert_init_creates_nothing_when_the_services_namespace_has_the_secret(cert_standin):
    core = _FakeCore()
    core.put("svc", "certificate")
    standin = cert_standin({"j": _cert_job("uid-c1", "install")}, core)
    standin.sync()
    assert not core.created and ("adm", "certificate") not in core.secrets
    assert standin.handled["uid-c1"]["result"] == "skipped: present in svc"
    assert standin.handled["uid-c1"]["action"] == "install"
    assert not standin.calls  # no helm for the certificate


@pytest.mark.parametrize("hostname,san", [
    ("kaapana.example.org", x509.DNSName("kaapana.example.org")),
    ("192.0.2.10", x509.IPAddress(ipaddress.IPv4Address("192.0.2.10"))),
], ids=["dns", "ip"])
def test_cert_init_creates_a_self_signed_tls_secret_in_the_admin_namespace(cert_standin, caplog, hostname, san):
    core = _FakeCore()
    standin = cert_standin({"j": _cert_job("uid-c2", "install", hostname=hostname)}, core)
    with caplog.at_level(logging.INFO, logger="kaapana-lab-kube-helm"):
        standin.sync()
    assert core.created == [("adm", "certificate")]  # only the admin namespace: cert-copy copies it
    secret = core.secrets[("adm", "certificate")]
    assert secret.type == "kubernetes.io/tls" and set(secret.data) == {"tls.crt", "tls.key"}
    assert not secret.metadata.labels and not secret.metadata.annotations  # `kubectl create secret tls`
    cert = _certificate(secret)
    assert cert.subject == cert.issuer
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "kaapana"
    assert list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value) == [san]
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH]
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True  # openssl's v3_ca
    assert cert.signature_hash_algorithm.name == "sha256"
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == datetime.timedelta(days=365)
    key_pem = base64.b64decode(secret.data["tls.key"])
    assert key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8, as OpenSSL 3's genrsa
    key = serialization.load_pem_private_key(key_pem, None)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()
    assert standin.handled["uid-c2"]["result"] == "created in adm"
    log = caplog.text
    assert "adm/certificate created" in log and hostname in log
    assert "PRIVATE KEY" not in log and secret.data["tls.key"][:40] not in log


def test_cert_init_uses_kaapanas_4096_bit_key(tmp_path):
    cert, key = kube_helm.self_signed("kaapana", "kaapana.example.org", 1)
    assert x509.load_pem_x509_certificate(cert).public_key().key_size == 4096


def test_cert_init_keeps_an_existing_admin_secret_and_fails_without_hostname(cert_standin):
    core = _FakeCore()
    core.put("adm", "certificate", crt="b3du")
    standin = cert_standin({"j": _cert_job("uid-c3", "install")}, core)
    standin.sync()
    assert not core.created and core.secrets[("adm", "certificate")].data["tls.crt"] == "b3du"
    assert standin.handled["uid-c3"]["result"] == "skipped: present in adm"
    # handle-secret.sh: nslookup of an empty HOSTNAME fails -> exit 1, no Secret
    empty = _FakeCore()
    standin = cert_standin({"j": _cert_job("uid-c4", "install", hostname="")}, empty, state=standin.state_dir + "/2")
    standin.sync()
    assert not empty.created and standin.handled["uid-c4"]["result"].startswith("failed: HOSTNAME is empty")


def test_cert_copy_copies_only_when_absent(cert_standin):
    core = _FakeCore()
    core.put("adm", "certificate", crt="YWRtaW4=", labels={"x": "y"})
    jobs = {"j": _cert_job("uid-p1", "copy")}
    standin = cert_standin(jobs, core)
    standin.sync()
    assert core.created == [("svc", "certificate")]
    copy = core.secrets[("svc", "certificate")]
    assert (copy.type, copy.data, copy.metadata.labels) == (
        "kubernetes.io/tls", {"tls.crt": "YWRtaW4=", "tls.key": "a2V5"}, {"x": "y"})
    applied = copy.metadata.annotations[kube_helm.LAST_APPLIED]  # what `kubectl apply` leaves on the copy
    assert applied.endswith("\n") and json.loads(applied) == {
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "data": {"tls.crt": "YWRtaW4=", "tls.key": "a2V5"},
        "metadata": {"name": "certificate", "namespace": "svc", "annotations": {}, "labels": {"x": "y"}}}
    assert standin.handled["uid-p1"]["result"] == "copied to svc"
    # a later cert-copy Job (a platform upgrade) leaves the services namespace's Secret alone
    core.put("adm", "certificate", crt="bmV3")
    jobs["j"] = _cert_job("uid-p2", "copy")
    standin.sync()
    assert core.created == [("svc", "certificate")]
    assert core.secrets[("svc", "certificate")].data["tls.crt"] == "YWRtaW4="
    assert standin.handled["uid-p2"]["result"] == "skipped: present in svc"
    # SECRET_NAMESPACE == ADMIN_NAMESPACE, or a services namespace that does not exist: nothing
    jobs["j"] = _cert_job("uid-p3", "copy", target="adm")
    standin.sync()
    jobs["j"] = _cert_job("uid-p4", "copy", target="gone")
    standin.sync()
    assert core.created == [("svc", "certificate")]
    assert standin.handled["uid-p3"]["result"] == "skipped: SECRET_NAMESPACE is ADMIN_NAMESPACE"
    assert standin.handled["uid-p4"]["result"] == "skipped: namespace gone absent"


def test_cert_copy_waits_for_the_admin_secret_without_blocking_then_gives_up(cert_standin, monkeypatch):
    core = _FakeCore()
    jobs = {"j": _cert_job("uid-w1", "copy")}
    standin = cert_standin(jobs, core)
    standin.sync()
    standin.sync()
    assert "uid-w1" not in standin.handled and not core.created  # still waiting
    core.put("adm", "certificate")
    standin.sync()
    assert core.created == [("svc", "certificate")] and standin.handled["uid-w1"]["result"] == "copied to svc"
    # handle-secret.sh gives up after 10 tries 5 s apart
    empty = _FakeCore()
    jobs = {"j": _cert_job("uid-w2", "copy")}
    standin = cert_standin(jobs, empty, state=standin.state_dir + "/2")
    start = kube_helm._now()
    standin.sync()
    monkeypatch.setattr(kube_helm, "_now", lambda: start + datetime.timedelta(seconds=49))
    standin.sync()
    assert "uid-w2" not in standin.handled
    monkeypatch.setattr(kube_helm, "_now", lambda: start + datetime.timedelta(seconds=51))
    standin.sync()
    assert standin.handled["uid-w2"]["result"] == "failed: Secret certificate not found in adm"
    empty.put("adm", "certificate")
    standin.sync()
    assert not empty.created  # given up: a late Secret is not copied by that Job


def test_cert_jobs_once_per_job_uid_after_the_delay_and_the_pod(cert_standin):
    core = _FakeCore()
    jobs = {"j": _cert_job("uid-o1", "install", age=1)}
    standin = cert_standin(jobs, core)
    standin.sync()
    assert not core.created  # within the delay
    jobs["j"] = _cert_job("uid-o1", "install", succeeded=0)
    standin.sync()
    assert not core.created and "uid-o1" not in standin.handled  # its pod has not run (e.g. Pending)
    jobs["j"] = _cert_job("uid-o1", "install")
    standin.sync()
    assert core.created == [("adm", "certificate")]
    del core.secrets[("adm", "certificate")]
    standin.sync()
    assert core.created == [("adm", "certificate")]  # once per Job UID
    again = cert_standin(jobs, core)  # a restarted stand-in remembers it (handled.json)
    again.sync()
    assert core.created == [("adm", "certificate")] and ("adm", "certificate") not in core.secrets
    jobs["j"] = _cert_job("uid-o2", "install")  # a new Job (helm upgrade renders a new name): acts again
    again.sync()
    assert core.created == [("adm", "certificate")] * 2
    # a failed Job is recorded and nothing is done; remove-secret Jobs are never acted on
    jobs["j"] = _cert_job("uid-o3", "install", succeeded=0, failed=True)
    jobs["r"] = _cert_job("uid-o4", "remove")
    again.sync()
    assert again.handled["uid-o3"]["result"] == "not run: the Job failed"
    assert "uid-o4" not in again.handled and len(core.created) == 2


def test_lab_up_starts_the_standin_with_the_delay_of_the_environment(monkeypatch):
    monkeypatch.setenv("LAB_KUBE_HELM_DELAY", "7")
    argv = cli.kube_helm_argv(CONFIG)
    assert argv[1].endswith("lab/standins/kube_helm.py")
    assert argv[argv.index("--delay") + 1] == "7"
    assert argv[argv.index("--helm") + 1] == CONFIG.bin("helm")
    assert argv[argv.index("--registry-password-file") + 1] == CONFIG.registry_password_file
    assert "--password" not in argv and "--password-stdin" not in argv  # the file's name only


# ---------------------------------------------------------------------------------------------
# real lab
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lab():
    if not os.access(CONFIG.bin("helm"), os.X_OK):
        pytest.skip("lab helm not built yet")
    started = False
    if cli.status(CONFIG, quiet=True) != 0:
        res = subprocess.run([sys.executable, "-m", "lab", "up"], cwd=ROOT, check=False)
        assert res.returncode == 0, "lab up failed; see .lab/logs/"
        started = True
    yield CONFIG
    if started and not os.environ.get("KAAPANA_LAB_KEEP"):
        res = subprocess.run([sys.executable, "-m", "lab", "down"], cwd=ROOT, check=False)
        assert res.returncode == 0, "lab down left something behind"


class Client:
    def __init__(self, cfg, tmp_path):
        self.cfg = cfg
        self.env = dict(os.environ, KUBECONFIG=cfg.kubeconfig, HELM_REGISTRY_CONFIG=str(tmp_path / "registry.json"),
                        HELM_CACHE_HOME=str(tmp_path / "cache"), HELM_CONFIG_HOME=str(tmp_path / "config"),
                        HELM_DATA_HOME=str(tmp_path / "data"))
        self.helm("registry", "login", cfg.registry, "-u", cfg.registry_user, "--password-stdin", "--plain-http",
                  input_text=cfg.registry_password())

    def helm(self, *args, check=True, input_text=None):
        res = subprocess.run([self.cfg.bin("helm")] + list(args), env=self.env, capture_output=True, text=True,
                             input=input_text, timeout=300, check=False)
        if check:
            assert res.returncode == 0, "helm %s: %s%s" % (" ".join(args), res.stdout, res.stderr)
        return res

    def kubectl(self, *args, check=True, input_text=None):
        res = subprocess.run([self.cfg.bin("kubectl"), "--kubeconfig", self.cfg.kubeconfig] + list(args),
                             capture_output=True, text=True, input=input_text, timeout=120, check=False)
        if check:
            assert res.returncode == 0, "kubectl %s: %s" % (" ".join(args), res.stderr)
        return res

    def releases(self, namespace):
        out = self.helm("list", "-n", namespace, "-a", "-o", "json").stdout
        return {r["name"]: r for r in json.loads(out or "[]")}

    def json(self, *args):
        return json.loads(self.kubectl(*args, "-o", "json").stdout)


def _wait(what, func, timeout=90, interval=1.0):
    deadline = time.time() + timeout
    while True:
        value = func()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


def _delay():
    rec = json.load(open(os.path.join(CONFIG.path("pids"), "kube-helm.json")))
    return float(rec["argv"][rec["argv"].index("--delay") + 1])


def _ts(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _admin_args(prefix, version, storage_node, *extra):
    sets = {"global.admin_namespace": prefix + "-admin", "global.helm_namespace": prefix + "-admin",
            "global.services_namespace": prefix + "-services", "global.extensions_namespace": prefix + "-extensions",
            "global.instance_uid": prefix, "global.storage_node": storage_node, "global.registry_url": CONFIG.registry,
            "global.credentials_registry_password": "kube-helm-test-secret", "lab.projectNamespace": prefix + "-project"}
    args = []
    for key, value in sets.items():
        args += ["--set-string", "%s=%s" % (key, value)]
    return args + list(extra)


def _cleanup(client, prefix, node=None, storage=False):
    for name in reversed(PHASE2):
        client.helm("uninstall", name, "-n", prefix + "-admin", "--no-hooks", "--wait", check=False)
    client.helm("uninstall", "kaapana-admin-chart", "-n", prefix + "-default", "--no-hooks", "--wait", check=False)
    if storage:
        client.helm("uninstall", "kaapana-storageclass", "-n", "kaapana-system", "--wait", check=False)
        client.kubectl("delete", "namespace", "kaapana-system", "--ignore-not-found", "--wait=false", check=False)
    for suffix in ("admin", "services", "extensions", "project", "default"):
        client.kubectl("delete", "namespace", "%s-%s" % (prefix, suffix), "--ignore-not-found", "--wait=false",
                       check=False)
    if node:
        client.kubectl("delete", "node", node, "--ignore-not-found", check=False)


def _wait_not_terminating(client, namespace, timeout=120):
    """A namespace an earlier test (or module) deleted with --wait=false refuses new objects until it is gone."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        res = client.kubectl("get", "namespace", namespace, "-o", "json", check=False)
        if res.returncode != 0 or not json.loads(res.stdout)["metadata"].get("deletionTimestamp"):
            return
        time.sleep(1)
    raise AssertionError("namespace %s still terminating after %ss" % (namespace, timeout))


def test_standin_installs_the_preinstall_extensions_of_a_061_admin_chart(lab, tmp_path):
    client = Client(lab, tmp_path)
    prefix, node = "khtest", "khtest-storage"
    delay = _delay()
    manifest = json.loads(cli._pool_node_manifest(node))
    manifest["metadata"]["labels"]["kaapana.io/node"] = node
    client.kubectl("apply", "-f", "-", input_text=json.dumps(manifest))
    try:
        # as kaapanactl.sh 0.6.1: pull the chart once, install its storage subchart first, then the admin chart
        client.helm("pull", "oci://%s/charts/kaapana-admin-chart" % lab.registry, "--version", "0.6.1-lab",
                    "--plain-http", "-d", str(tmp_path))
        with tarfile.open(str(tmp_path / "kaapana-admin-chart-0.6.1-lab.tgz")) as tar:
            tar.extractall(str(tmp_path / "chart"))
        _wait_not_terminating(client, "kaapana-system")
        client.helm("upgrade", "--install", "kaapana-storageclass",
                    str(tmp_path / "chart" / "kaapana-admin-chart" / "charts" / "kaapana-storage-chart"),
                    "-n", "kaapana-system", "--create-namespace", "--set-string", "global.main_node_name=" + node,
                    "--set-string", "global.replica_count=1", "--set-string", "global.fast_data_dir=/home/khtest",
                    "--set-string", "global.slow_data_dir=/home/khtest")
        client.helm("install", "kaapana-admin-chart", str(tmp_path / "kaapana-admin-chart-0.6.1-lab.tgz"),
                    "-n", prefix + "-default", "--create-namespace",
                    *_admin_args(prefix, "0.6.1-lab", node, "--set-string", "global.hostname=" + KHTEST_HOST))
        job = client.json("-n", prefix + "-admin", "get", "job", "init-extensions")
        if delay >= 2:  # within the delay: nothing installed yet
            assert not client.releases(prefix + "-admin")

        def deployed():
            rel = client.releases(prefix + "-admin")
            return rel if set(rel) == set(PHASE2) and all(r["status"] == "deployed" for r in rel.values()) else None

        releases = _wait("the three preinstalled releases to be deployed", deployed, timeout=60 + delay)
        created = _ts(job["metadata"]["creationTimestamp"])
        for name in PHASE2:
            assert releases[name]["chart"] == "%s-0.6.1-lab" % name
            status = json.loads(client.helm("status", name, "-n", prefix + "-admin", "-o", "json").stdout)
            # creationTimestamp has a resolution of one second
            assert (_ts(status["info"]["first_deployed"]) - created).total_seconds() >= delay - 1, name
            values = yaml.safe_load(client.helm("get", "values", name, "-n", prefix + "-admin", "-o", "yaml").stdout)
            assert values["global"]["release_name"] == "kaapana-admin-chart"
            assert values["global"]["instance_uid"] == prefix
            assert "preinstall_extensions" not in values["global"]
        labelled = client.helm("list", "-n", prefix + "-admin", "-l", "kaapana.lab/installed-by=kube-helm-standin",
                               "-q").stdout.split()
        assert sorted(labelled) == sorted(PHASE2)

        # the services namespace filled in phase 2; every pod with a Kaapana PVC runs on the storage node
        def pinned_and_ready():
            pods = client.json("-n", prefix + "-services", "get", "pods")["items"]
            with_claims = [p for p in pods if any("persistentVolumeClaim" in v for v in p["spec"].get("volumes", []))]
            if len(with_claims) < 6 or any(p["status"].get("phase") not in ("Running", "Succeeded") for p in pods):
                return None
            return with_claims

        with_claims = _wait("the services pods to run", pinned_and_ready, timeout=90)
        assert {p["spec"]["nodeName"] for p in with_claims} == {node}
        kube_helm_pod = [p for p in client.json("-n", prefix + "-admin", "get", "pods")["items"]
                         if p["metadata"]["name"].startswith("kube-helm-")]
        assert kube_helm_pod and kube_helm_pod[0]["spec"].get("nodeSelector") == {"kaapana.io/node": node}

        # Kaapana's TLS Secret: cert-init made it in admin, cert-copy copied it into services; a Job made both,
        # so no Helm release owns them
        def certificate(namespace):
            res = client.kubectl("-n", namespace, "get", "secret", "certificate", "-o", "json", check=False)
            return json.loads(res.stdout) if res.returncode == 0 else None

        made = _wait("Secret certificate in the admin namespace", lambda: certificate(prefix + "-admin"),
                     timeout=30 + delay)
        copied = _wait("its copy in the services namespace", lambda: certificate(prefix + "-services"),
                       timeout=60 + delay)
        assert made["type"] == copied["type"] == "kubernetes.io/tls" and made["data"] == copied["data"]
        assert not made["metadata"].get("labels") and not made["metadata"].get("ownerReferences")
        cert = x509.load_pem_x509_certificate(base64.b64decode(made["data"]["tls.crt"]))
        assert list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value) == [
            x509.DNSName(KHTEST_HOST)]
        # no secret in the stand-in's log
        log = open(ProcessTable(CONFIG.state).log_path("kube-helm")).read()
        assert "kube-helm-test-secret" not in log
        assert "PRIVATE KEY" not in log and made["data"]["tls.key"][:60] not in log
        # a restarted stand-in installs nothing twice
        procs = ProcessTable(CONFIG.state)
        procs.stop("kube-helm")
        procs.start("kube-helm", cli.kube_helm_argv(CONFIG))
        time.sleep(delay + 3)
        for name in PHASE2:
            assert client.releases(prefix + "-admin")[name]["revision"] == "1", name
        # undeploy (Kaapana's order: the preinstalled releases, newest first, then the admin chart) installs nothing
        for name in reversed(PHASE2):
            client.helm("uninstall", name, "-n", prefix + "-admin", "--wait")
        client.helm("uninstall", "kaapana-admin-chart", "-n", prefix + "-default", "--wait")
        time.sleep(delay + 3)
        assert not client.releases(prefix + "-admin")
        # Kaapana's remove-secret pre-delete hook ran and deleted nothing (its condition is inverted): both stay
        assert certificate(prefix + "-admin")["data"] == certificate(prefix + "-services")["data"] == made["data"]
        jobs = client.json("-n", prefix + "-admin", "get", "jobs")["items"]
        assert not [j for j in jobs if j["metadata"]["name"].startswith("remove-secret-")]  # hook-succeeded
    finally:
        _cleanup(client, prefix, node=node, storage=True)


def test_preinstall_fail_release_leaves_that_release_failed(lab, tmp_path):
    client = Client(lab, tmp_path)
    prefix = "kftest"
    try:
        client.helm("install", "kaapana-admin-chart", "oci://%s/charts/kaapana-admin-chart" % lab.registry,
                    "--version", "0.6.0-lab", "--plain-http", "-n", prefix + "-default", "--create-namespace",
                    *_admin_args(prefix, "0.6.0-lab", "storage", "--set", "lab.createStorageClasses=false",
                                 "--set-string", "lab.preinstallFailRelease=code-server-chart"))

        def settled():
            rel = client.releases(prefix + "-admin")
            done = set(rel) == set(PHASE2) and all(r["status"] in ("deployed", "failed") for r in rel.values())
            return rel if done else None

        releases = _wait("the preinstalled releases to settle", settled, timeout=90 + _delay())
        assert {n: r["status"] for n, r in releases.items()} == {
            "kaapana-platform-chart": "deployed", "code-server-chart": "failed", "kaapana-workflows-core": "deployed"}
        # the failing hook Job is not left behind
        assert not client.kubectl("-n", prefix + "-admin", "get", "job", "lab-preinstall-fault",
                                  check=False).returncode == 0
    finally:
        _cleanup(client, prefix)


# ---------------------------------------------------------------------------------------------
# host jobs (pods annotated kaapana.lab/host-job: their command runs in the node container)
# ---------------------------------------------------------------------------------------------
def _host_pod(annotations=None, phase="Running", node="n1", deleting=False, command=("/bin/sh", "-c"),
              args=("echo hi",), env=(), policy=None, uid="u1"):
    container = client.V1Container(name="c", image="busybox", command=list(command) if command else None,
                                   args=list(args) if args else None, env=list(env) or None,
                                   termination_message_policy=policy)
    meta = client.V1ObjectMeta(name="p", namespace="ns", uid=uid,
                               annotations={"kaapana.lab/host-job": "true"} if annotations is None else annotations,
                               deletion_timestamp=datetime.datetime.now(datetime.timezone.utc) if deleting else None)
    return client.V1Pod(metadata=meta, spec=client.V1PodSpec(containers=[container], node_name=node),
                        status=client.V1PodStatus(phase=phase))


def test_host_job_due_only_for_running_annotated_pods_on_a_node_not_yet_run():
    assert kube_helm.host_job_due(_host_pod())
    assert not kube_helm.host_job_due(_host_pod(annotations={}))
    assert not kube_helm.host_job_due(_host_pod(annotations={"kaapana.lab/host-job": "false"}))
    assert not kube_helm.host_job_due(_host_pod(annotations={"kaapana.lab/host-job": "true",
                                                             "kaapana.lab/exit-code": "0"}))
    assert not kube_helm.host_job_due(_host_pod(phase="Pending"))
    assert not kube_helm.host_job_due(_host_pod(phase="Succeeded"))
    assert not kube_helm.host_job_due(_host_pod(node=None))
    assert not kube_helm.host_job_due(_host_pod(deleting=True))


def test_host_job_command_env_and_redaction():
    env = [client.V1EnvVar(name="A", value="1"), client.V1EnvVar(name="EMPTY"),
           client.V1EnvVar(name="FROM_SECRET", value_from=client.V1EnvVarSource(
               secret_key_ref=client.V1SecretKeySelector(name="s", key="k"))),
           client.V1EnvVar(name="REGISTRY_PASSWORD", value="pw"), client.V1EnvVar(name="api_token", value="t")]
    argv, values, workdir, policy = kube_helm.host_job_command(_host_pod(env=env))
    assert argv == ["/bin/sh", "-c", "echo hi"] and workdir is None and policy == "File"
    assert values == {"A": "1", "EMPTY": "", "REGISTRY_PASSWORD": "pw", "api_token": "t"}  # valueFrom skipped
    assert kube_helm.redacted(values) == {"A": "1", "EMPTY": "", "REGISTRY_PASSWORD": "<redacted>",
                                          "api_token": "<redacted>"}
    assert kube_helm.host_job_command(_host_pod(command=None))[0] == []  # the image's entrypoint: unknown here


def test_host_job_annotations():
    out = "x" * 5000
    got = kube_helm.host_job_annotations(0, out)
    assert got == {"kaapana.lab/exit-code": "0", "kaapana.lab/host-job-output": "x" * 2000}
    assert "kaapana.lab/host-job-message" not in kube_helm.host_job_annotations(1, "boom\n")
    assert kube_helm.host_job_annotations(2, "boom\n", "FallbackToLogsOnError") == {
        "kaapana.lab/exit-code": "2", "kaapana.lab/host-job-output": "boom\n", "kaapana.lab/host-job-message": "boom\n"}


def test_host_jobs_run_once_in_the_node_container_and_record_the_exit_code(tmp_path):
    pods = [_host_pod(env=[client.V1EnvVar(name="A", value="1")], uid="u1"),
            _host_pod(uid="u2", phase="Pending")]
    calls, patches = [], []

    class Core:
        def list_pod_for_all_namespaces(self):
            return client.V1PodList(items=pods)

        def patch_namespaced_pod(self, name, namespace, body):
            patches.append((name, namespace, body))

    def node_exec(node, argv, env=None, workdir=None, timeout=None):
        calls.append((node, argv, env, timeout))
        return subprocess.CompletedProcess(argv, 7, "out\n", None)

    standin = kube_helm.KubeHelm.__new__(kube_helm.KubeHelm)
    standin.core, standin.node_exec, standin.host_job_timeout = Core(), node_exec, 300
    standin.host_jobs, standin.host_job_threads = set(), []
    for _pass in range(2):
        standin.run_host_jobs(Core().list_pod_for_all_namespaces().items)
        for thread in standin.host_job_threads:
            thread.join()
    assert calls == [("n1", ["timeout", "-k", "10", "300", "/bin/sh", "-c", "echo hi"], {"A": "1"}, 330)]
    assert patches == [("p", "ns", {"metadata": {"annotations": {"kaapana.lab/exit-code": "7",
                                                                 "kaapana.lab/host-job-output": "out\n"}}})]


def test_kwok_config_leaves_host_jobs_to_the_lab_stages():
    from lab import controlplane
    if not os.path.isdir(CONFIG.kwok_stage_dir):
        pytest.skip("KWOK's stages are not in the lab cache")
    stages = {d["metadata"]["name"]: d for d in yaml.safe_load_all(controlplane.kwok_config(CONFIG.kwok_stage_dir))
              if d.get("kind") == "Stage"}
    assert {"key": '.metadata.annotations["kaapana.lab/host-job"]', "operator": "DoesNotExist"} in \
        stages["pod-complete"]["spec"]["selector"]["matchExpressions"]
    ok, failed = stages["lab-host-job-succeeded"]["spec"], stages["lab-host-job-failed"]["spec"]
    assert ok["weight"] == failed["weight"] == 10000
    assert {"key": '.metadata.annotations["kaapana.lab/exit-code"]', "operator": "In", "values": ["0"]} in \
        ok["selector"]["matchExpressions"]
    assert {"key": '.metadata.annotations["kaapana.lab/exit-code"]', "operator": "NotIn", "values": ["0"]} in \
        failed["selector"]["matchExpressions"]
    assert "phase: Succeeded" in ok["next"]["statusTemplate"] and "phase: Failed" in failed["next"]["statusTemplate"]


# ---------------------------------------------------------------------------------------------
# kubelet image pulls (recorded in the node's containerd store through the microk8s stand-in)
# ---------------------------------------------------------------------------------------------
def _image_pod(uid, node="n1", phase="Running", images=("a:1",), init=(), ephemeral=()):
    spec = client.V1PodSpec(node_name=node, containers=[client.V1Container(name="c%d" % i, image=image)
                                                        for i, image in enumerate(images)],
                            init_containers=[client.V1Container(name="i%d" % i, image=image)
                                             for i, image in enumerate(init)] or None,
                            ephemeral_containers=[client.V1EphemeralContainer(name="e%d" % i, image=image)
                                                  for i, image in enumerate(ephemeral)] or None)
    return client.V1Pod(metadata=client.V1ObjectMeta(name="p-" + uid, namespace="ns", uid=uid), spec=spec,
                        status=client.V1PodStatus(phase=phase))


def test_pod_images_are_init_app_and_ephemeral_containers_once_each():
    pod = _image_pod("u1", images=("a:1", "b:1"), init=("i:1", "a:1"), ephemeral=("dbg:1",))
    assert kube_helm.pod_images(pod) == ["i:1", "a:1", "b:1", "dbg:1"]


def test_pulls_due_are_the_started_pods_not_seen_yet_per_node():
    pods = [_image_pod("u1", images=("a:1",)), _image_pod("u2", images=("a:1", "b:1")),
            _image_pod("u3", node="n2", phase="Succeeded", images=("c:1",)),
            _image_pod("u4", phase="Pending", images=("d:1",)), _image_pod("u5", node=None, images=("e:1",)),
            _image_pod("u6", images=("f:1",))]
    assert kube_helm.pulls_due(pods, {"u6"}) == {"n1": (["a:1", "b:1"], ["u1", "u2"]), "n2": (["c:1"], ["u3"])}


def test_image_pulls_are_recorded_once_per_pod_and_never_on_a_node_without_container():
    calls = []

    def node_exec(node, argv, env=None, workdir=None, timeout=None):
        calls.append((node, argv))
        return subprocess.CompletedProcess(argv, 125 if node == "lab-pool-0" else 0, "", None)

    standin = kube_helm.KubeHelm.__new__(kube_helm.KubeHelm)
    standin.node_exec, standin.pulled, standin.no_container, standin.sandboxed = node_exec, set(), set(), set()
    pods = [_image_pod("u1"), _image_pod("u2", node="lab-pool-0")]
    nodes = [client.V1Node(metadata=client.V1ObjectMeta(name=name, uid="node-" + name))
             for name in ("n1", "n2", "lab-pool-0")]
    standin.record_image_pulls(pods, nodes)
    standin.record_image_pulls(pods + [_image_pod("u3", node="lab-pool-0"), _image_pod("u4", images=("b:1",))],
                               nodes)
    pull = ["/snap/bin/microk8s", "ctr", "images", "kaapana-lab-pull", "--sandbox"]
    # a Node seen first gets the sandbox image alone (n2 runs no pod)
    assert calls == [("lab-pool-0", pull + ["a:1"]), ("n1", pull + ["a:1"]), ("n2", pull), ("n1", pull + ["b:1"])]
    assert standin.pulled == {"u1", "u2", "u3", "u4"}
