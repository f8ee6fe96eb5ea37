"""The lab's fixture charts (lab/charts/*) rendered by the real Helm 3 binary.

`helm lint` and `helm template` run on each chart; the kaapana-admin-chart fixture gets Kaapana's
complete `helm install --set` line (kaapanactl.sh deploy_chart, 0.6.0; see
../shared/reference/kaapana-deployment.md section 1.5) and the rendered objects are checked: the values
ConfigMap records every value with its type, credentials appear only in Secrets (the ConfigMap
holds their sha256), INSTANCE_UID namespaces, PVC storage classes, hooks. The Kaapana fixture charts are
rendered as `lab up` packages them (lab.registry.stage_charts: both shapes, 0.6.0-lab and 0.6.1-lab, with the
library and, for 0.6.1-lab, the storage subchart in charts/); the phase-2 charts get the values kube-helm passes
them (the admin chart's preinstall-values Secret). No cluster is needed.
"""
import atexit
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile

import pytest
import yaml

from lab import registry
from lab.config import CONFIG, ROOT

HELM = os.environ.get("LAB_HELM") or CONFIG.bin("helm")
CHARTS = os.path.join(ROOT, "lab", "charts")
# Every chart as `lab up` packages it (staged once per test session).
_STAGE = tempfile.mkdtemp(prefix="lab-fixture-charts-")
atexit.register(shutil.rmtree, _STAGE, True)
STAGED = {(name, version): folder for name, version, folder in registry.stage_charts(_STAGE)}
ADMIN = STAGED[("kaapana-admin-chart", "0.6.0-lab")]
ADMIN_061 = STAGED[("kaapana-admin-chart", "0.6.1-lab")]
PHASE2 = ("kaapana-platform-chart", "code-server-chart", "kaapana-workflows-core")
PLATFORM = STAGED[("kaapana-platform-chart", "0.6.0-lab")]
STORAGE = os.path.join(ADMIN_061, "charts", "kaapana-storage-chart")
LONGHORN = STAGED[("longhorn", "1.10.1")]
GPU = STAGED[("gpu-operator", "v25.10.0")]
KUBE_VERSION = "1.34.4"

pytestmark = pytest.mark.skipif(
    not os.access(HELM, os.X_OK), reason="lab helm not built yet (%s)" % HELM)


# ---------------------------------------------------------------------------------------------
# Kaapana's --set line, in the script's order: (flag, key, value). Values are chosen distinct per
# key so a swapped mapping shows up. Credentials deliberately contain '+', '/', '!', '@', ' '.
# ---------------------------------------------------------------------------------------------
PASSWORDS = {
    "global.credentials_registry_password": "reg-Pw+/9 x!",
    "global.credentials_minio_password": "minio-Pw@42",
    "global.credentials_grafana_password": "grafana-Pw#7",
    "global.credentials_keycloak_admin_password": "Keycloak-Pw$8",
    "global.oidc_client_secret": "ZjQ2YzE0ZTk3NWI3Nzg1+/ODk0YTFkOGI",
    "global.kaapana_init_password": "Init-Pw%3",
    "global.smtp_password": "smtp-Pw^5",
}


def kaapana_set_line(uid="", registry="10.89.0.1:5000/kaapana", gpu="false", offline="false",
                     prefetch="false", dev_mode="true", storage="hostpath", http_proxy="",
                     https_proxy=""):
    """The --set arguments of kaapanactl.sh's `helm install`, as (flag, key, value) triples."""
    services, extensions, admin = "services", "extensions", "admin"
    fast, slow = "/home/kaapana", "/home/kaapana-slow"
    include_reverse_proxy = "false"
    if uid:  # kaapanactl.sh: prefix services/extensions/helm ns, suffix data dirs, own proxy
        services, extensions = "%s-%s" % (uid, services), "%s-%s" % (uid, extensions)
        fast, slow = "%s-%s" % (fast, uid), "%s-%s" % (slow, uid)
        include_reverse_proxy = "true"
    if storage == "longhorn":
        sc_fast, sc_slow, sc_workflow = ("kaapana-longhorn-fast-db", "kaapana-longhorn-slow-data",
                                         "kaapana-longhorn-fast-workflow")
    else:
        sc_fast, sc_slow, sc_workflow = ("kaapana-hostpath-fast-data-dir",
                                         "kaapana-hostpath-slow-data-dir",
                                         "kaapana-hostpath-fast-data-dir")
    pull = "Always" if dev_mode == "true" and offline != "true" else "IfNotPresent"
    s, p = "--set-string", "--set"
    return [
        (s, "global.base_namespace", "base"),
        (s, "global.credentials_registry_username", "lab-registry-user"),
        (s, "global.credentials_registry_password", PASSWORDS["global.credentials_registry_password"]),
        (s, "global.credentials_minio_username", "lab-minio-user"),
        (s, "global.credentials_minio_password", PASSWORDS["global.credentials_minio_password"]),
        (s, "global.credentials_grafana_username", "lab-grafana-user"),
        (s, "global.credentials_grafana_password", PASSWORDS["global.credentials_grafana_password"]),
        (s, "global.credentials_keycloak_admin_username", "lab-keycloak-admin"),
        (s, "global.credentials_keycloak_admin_password", PASSWORDS["global.credentials_keycloak_admin_password"]),
        (s, "global.dicom_port", "11112"),
        (s, "global.fast_data_dir", fast),
        (s, "global.services_namespace", services),
        (s, "global.extensions_namespace", extensions),
        (s, "global.admin_namespace", admin),
        (p, "global.gpu_support", gpu),
        (s, "global.helm_namespace", admin),
        (p, "global.oidc_client_secret", PASSWORDS["global.oidc_client_secret"]),
        (p, "global.include_reverse_proxy", include_reverse_proxy),
        (s, "global.home_dir", "/home/labuser"),
        (s, "global.hostname", "kaapana.lab.example"),
        (s, "global.http_port", "80"),
        (s, "global.https_port", "8443"),
        (p, "global.internalCidrs", "{10.152.183.0/24,10.1.0.0/16,10.89.0.11/32,10.89.0.1/32}"),
        (s, "squid-proxy.upstreamHttpProxy", http_proxy),
        (s, "squid-proxy.upstreamHttpsProxy", https_proxy),
        (p, "global.offline_mode", offline),
        (p, "global.prefetch_extensions", prefetch),
        (s, "global.pull_policy_images", pull),
        (s, "global.pull_policy_jobs", pull),
        (s, "global.pull_policy_pods", pull),
        (s, "global.registry_url", registry),
        (s, "global.release_name", "kaapana-admin-chart"),
        (s, "global.deployment_timestamp", "2026-01-02T03:04:05+00:00"),
        # Kaapana's backend splits this on ","; on a --set line the comma must be escaped
        # (kaapanactl.sh does not: two mount points there make `helm install` fail).
        (s, "global.mount_points_to_monitor", "/\\,/home"),
        (s, "global.slow_data_dir", slow),
        (s, "global.instance_uid", uid),
        (s, "global.instance_name", "kaapana.lab.example"),
        (p, "global.dev_mode", dev_mode),
        (s, "global.kaapana_init_password", PASSWORDS["global.kaapana_init_password"]),
        (s, "global.pacs_memory_limit", "11111"),
        (s, "global.airflow_memory_limit", "22222"),
        (s, "global.opensearch_memory_limit", "33333"),
        (s, "global.pacs_memory_request", "3703"),
        (s, "global.airflow_memory_request", "7407"),
        (s, "global.opensearch_memory_request", "11111"),
        (s, "global.smtp_host", "smtp.lab.example"),
        (s, "global.smtp_port", "587"),
        (s, "global.smtp_username", "lab-smtp-user"),
        (s, "global.smtp_password", PASSWORDS["global.smtp_password"]),
        (s, "global.email_address_sender", "kaapana@lab.example"),
        (s, "global.storage_class_fast", sc_fast),
        (s, "global.storage_class_slow", sc_slow),
        (s, "global.storage_class_workflow", sc_workflow),
        (s, "global.main_node_name", "lab-node-1"),
        (s, "global.volume_slow_data", "123Gi"),
        (s, "global.replica_count", "2"),
        (s, "global.storage_node", "storage"),
    ]


def set_args(triples):
    args = []
    for flag, key, value in triples:
        args += [flag, "%s=%s" % (key, value)]
    return args


def expected_value(flag, key, value):
    """What helm makes of one --set/--set-string argument."""
    if flag == "--set-string":
        return value.replace("\\,", ",")
    if value in ("true", "false"):
        return value == "true"
    if value.startswith("{") and value.endswith("}"):
        return value[1:-1].split(",")
    return value


def helm(*args, check=True):
    proc = subprocess.run([HELM, *args], capture_output=True, text=True, timeout=120, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("helm %s failed (%d):\n%s%s" % (
            " ".join(args), proc.returncode, proc.stdout, proc.stderr))
    return proc


def render(chart, *args, release=None, namespace="default", include_crds=False):
    release = release or os.path.basename(chart)
    cmd = ["template", release, chart, "--namespace", namespace, "--kube-version", KUBE_VERSION]
    if include_crds:
        cmd.append("--include-crds")
    out = helm(*cmd, *args).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def find(docs, kind, name=None, namespace=None):
    found = [d for d in docs if d["kind"] == kind
             and (name is None or d["metadata"]["name"] == name)
             and (namespace is None or d["metadata"].get("namespace") == namespace)]
    return found


def one(docs, kind, name, namespace=None):
    found = find(docs, kind, name, namespace)
    assert len(found) == 1, "%s %s/%s: %d found" % (kind, namespace, name, len(found))
    return found[0]


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def admin_render(*extra, namespace="default", **line):
    return render(ADMIN, *set_args(kaapana_set_line(**line)), *extra, namespace=namespace)


def forwarded_values(admin_docs):
    """The values kube-helm passes to each preinstalled release: the admin chart's preinstall-values Secret,
    named by Job init-extensions' annotation."""
    job = find(admin_docs, "Job", "init-extensions")[0]
    name = job["metadata"]["annotations"]["kaapana.lab/values-secret"]
    secret = one(admin_docs, "Secret", name, job["metadata"]["namespace"])
    return base64.b64decode(secret["data"]["values.yaml"]).decode()


def phase2_render(admin_docs, chart, *extra, version="0.6.0-lab"):
    """A phase-2 chart rendered as the kube-helm stand-in installs it (release = chart name, in the
    Helm namespace, with the admin release's values)."""
    text = forwarded_values(admin_docs)
    values = yaml.safe_load(text)
    path = os.path.join(_STAGE, "values-%s.yaml" % hashlib.sha256(text.encode()).hexdigest()[:16])
    with open(path, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)
    return render(STAGED[(chart, version)], "-f", path, *extra, release=chart,
                  namespace=values["global"]["helm_namespace"])


def platform_docs(admin_docs, version="0.6.0-lab"):
    """The whole platform: the admin release and the three releases kube-helm preinstalls."""
    docs = list(admin_docs)
    for chart in PHASE2:
        docs += phase2_render(admin_docs, chart, version=version)
    return docs


RANDOM_SUFFIX = re.compile(r"^(cert-init|cert-copy|remove-secret)-[a-z0-9]{3}$")


def base_name(name):
    """A Job's name without the 3 random characters Kaapana's cert Jobs end in (randAlphaNum 3 | lower)."""
    match = RANDOM_SUFFIX.match(name)
    return match.group(1) if match else name


def recorded_values(docs, namespace="default"):
    cm = one(docs, "ConfigMap", "kaapana-admin-chart-values", namespace)
    return cm, json.loads(cm["data"]["values.json"])


# ---------------------------------------------------------------------------------------------
# lint and packaging
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("chart,args", [
    (ADMIN, set_args(kaapana_set_line())),
    (ADMIN, set_args(kaapana_set_line(uid="a", storage="longhorn"))),
    (LONGHORN, ["--set", "csi.kubeletRootDir=/var/snap/microk8s/common/var/lib/kubelet",
                "--set", "lab.nodes={lab-node-1,lab-node-2}"]),
    (LONGHORN, ["--set", "defaultBackupStore.backupTarget=s3://kaapana-backups@us-east-1/kaapana",
                "--set", "defaultBackupStore.backupTargetCredentialSecret=s3-secret",
                "--set", "defaultBackupStore.pollInterval=300",
                "--set", "persistence.recurringJobSelector.enable=true",
                "--set-string", 'persistence.recurringJobSelector.jobList=[{"name":"backup"\\,"isGroup":true}]']),
    (GPU, []),
], ids=["admin", "admin-uid-longhorn", "longhorn", "longhorn-backup", "gpu-operator"])
def test_lint_strict(chart, args):
    out = helm("lint", "--strict", "--kube-version", KUBE_VERSION, chart, *args).stdout
    assert "0 chart(s) failed" in out


@pytest.mark.parametrize("name,version", sorted(STAGED), ids=["%s-%s" % key for key in sorted(STAGED)])
def test_every_published_chart_lints(name, version):
    """Every chart `lab up` pushes, in both shapes, as packaged; the Kaapana ones with the admin chart's
    defaults (the phase-2 charts also with the values kube-helm passes them)."""
    out = helm("lint", "--strict", "--kube-version", KUBE_VERSION, STAGED[(name, version)]).stdout
    assert "0 chart(s) failed" in out
    if name in PHASE2:
        admin = render(STAGED[("kaapana-admin-chart", version)], *set_args(kaapana_set_line(uid="a")),
                       namespace="a-default")
        assert phase2_render(admin, name, version=version)


@pytest.mark.parametrize("chart,tgz", [
    (ADMIN, "kaapana-admin-chart-0.6.0-lab.tgz"),
    (ADMIN_061, "kaapana-admin-chart-0.6.1-lab.tgz"),
    (LONGHORN, "longhorn-1.10.1.tgz"),
    (GPU, "gpu-operator-v25.10.0.tgz"),
])
def test_package_names(chart, tgz, tmp_path):
    helm("package", chart, "--destination", str(tmp_path))
    assert os.listdir(tmp_path) == [tgz]


def test_admin_kube_version_constraint():
    chart = yaml.safe_load(open(os.path.join(ADMIN, "Chart.yaml")))
    assert chart["apiVersion"] == "v2" and chart["kubeVersion"] == ">=1.30.0-0"
    proc = helm("template", "x", ADMIN, "--kube-version", "1.29.9", check=False)
    assert proc.returncode != 0 and "kubeVersion" in proc.stderr, proc.stderr
    cm = recorded_values(admin_render())[0]
    assert cm["data"]["kube.version"] == "v" + KUBE_VERSION


# ---------------------------------------------------------------------------------------------
# kaapana-admin-chart: the values interface
# ---------------------------------------------------------------------------------------------
def test_admin_values_yaml_has_a_default_for_every_key_of_the_set_line():
    values = yaml.safe_load(open(os.path.join(ADMIN, "values.yaml")))
    schema = json.load(open(os.path.join(ADMIN, "values.schema.json")))
    for _flag, key, _value in kaapana_set_line():
        top, sub = key.split(".", 1)
        assert sub in values[top], key
        if top == "global":
            assert sub in schema["properties"]["global"]["properties"], key


def test_admin_defaults_render_and_match_kaapanactl_defaults():
    docs = render(ADMIN)
    vals = recorded_values(docs)[1]
    g = vals["global"]
    assert (g["services_namespace"], g["admin_namespace"], g["extensions_namespace"]) == (
        "services", "admin", "extensions")
    assert g["dev_mode"] is True and g["gpu_support"] is False
    assert g["http_port"] == "80" and g["https_port"] == "443" and g["dicom_port"] == "11112"
    assert g["storage_class_slow"] == "kaapana-hostpath-slow-data-dir"
    assert g["internalCidrs"] == ["10.152.183.0/24", "10.1.0.0/16"]


def test_admin_records_every_value_of_the_set_line():
    line = kaapana_set_line()
    docs = admin_render()
    cm, vals = recorded_values(docs)
    assert cm["data"]["release.name"] == "kaapana-admin-chart"
    assert cm["data"]["release.namespace"] == "default"
    assert cm["data"]["chart.version"] == "0.6.0-lab"
    secret_keys = set(cm["data"]["secret-keys"].split())
    assert {k.split(".", 1)[1] for k in PASSWORDS} == secret_keys
    for flag, key, value in line:
        top, sub = key.split(".", 1)
        got = vals[top][sub]
        want = expected_value(flag, key, value)
        if sub in secret_keys:
            want = "sha256:" + sha256(value)
        assert got == want, key
        assert type(got) is type(want), key
    # build-time values of the packaged chart are left alone
    assert vals["global"]["kaapana_build_version"] == "0.6.0-lab"
    assert [e["name"] for e in vals["global"]["preinstall_extensions"]] == [
        "kaapana-platform-chart", "code-server-chart", "kaapana-workflows-core"]


def test_admin_secrets_only_in_secrets():
    docs = admin_render()
    cm = recorded_values(docs)[0]
    recorded = json.loads(cm["data"]["secrets.json"])
    for key, password in PASSWORDS.items():
        sub = key.split(".", 1)[1]
        assert recorded[sub] == {"set": True, "sha256": sha256(password)}
    for doc in find(docs, "ConfigMap"):
        text = json.dumps(doc)
        for password in PASSWORDS.values():
            assert password not in text, doc["metadata"]["name"]
            assert json.dumps(password)[1:-1] not in text
    creds = one(docs, "Secret", "kaapana-admin-chart-credentials", "default")
    decoded = {k: base64.b64decode(v).decode() for k, v in creds["data"].items()}
    for key, password in PASSWORDS.items():
        assert decoded[key.split(".", 1)[1]] == password
    assert decoded["credentials_minio_username"] == "lab-minio-user"
    # Kaapana's own secrets
    oidc = one(docs, "Secret", "oidc-client-secret", "services")
    assert base64.b64decode(oidc["data"]["oidc-client-secret"]).decode() == PASSWORDS[
        "global.oidc_client_secret"]
    for ns in ("admin", "services", "extensions", "project-admin"):
        reg = one(docs, "Secret", "registry-secret", ns)
        assert reg["type"] == "kubernetes.io/dockerconfigjson"
        auths = json.loads(base64.b64decode(reg["data"][".dockerconfigjson"]))["auths"]
        entry = auths["10.89.0.1:5000/kaapana"]
        assert base64.b64decode(entry["auth"]).decode() == "lab-registry-user:" + PASSWORDS[
            "global.credentials_registry_password"]
    # pods take credentials from Secrets, never as literal env values
    for dep in find(docs, "Deployment") + find(docs, "Job"):
        text = json.dumps(dep)
        for password in PASSWORDS.values():
            assert password not in text


def test_admin_unset_credentials_are_recorded_as_unset():
    docs = render(ADMIN)
    cm, vals = recorded_values(docs)
    recorded = json.loads(cm["data"]["secrets.json"])
    assert recorded["credentials_registry_password"]["set"] is False
    assert vals["global"]["credentials_registry_password"] == ""
    assert recorded["kaapana_init_password"]["set"] is True


@pytest.mark.parametrize("args,message", [
    (["--set", "global.dicom_port=11112"], "dicom_port"),
    (["--set-string", "global.gpu_support=true"], "gpu_support"),
    (["--set-string", "global.stroage_class_fast=x"], "stroage_class_fast"),
    (["--set-string", "global.pull_policy_pods=Sometimes"], "pull_policy_pods"),
    (["--set-string", "global.services_namespace=Services_NS"], "services_namespace"),
    (["--set-string", "global.volume_slow_data=lots"], "volume_slow_data"),
    (["--set", "global.internalCidrs={10.1.0.0}"], "internalCidrs"),
    (["--set-string", "global.tls_secret.expiration=a-year"], "expiration"),
], ids=["int-port", "string-bool", "unknown-key", "pull-policy", "namespace", "quantity", "cidr", "tls-expiration"])
def test_admin_schema_rejects_wrong_types_and_unknown_keys(args, message):
    proc = helm("template", "x", ADMIN, "--kube-version", KUBE_VERSION, *args, check=False)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr


def test_admin_schema_accepts_numeric_oidc_secret_from_plain_set():
    docs = render(ADMIN, "--set", "global.oidc_client_secret=123456")
    cm, vals = recorded_values(docs)
    assert vals["global"]["oidc_client_secret"] == "sha256:" + sha256("123456")


# ---------------------------------------------------------------------------------------------
# kaapana-admin-chart: namespaces, INSTANCE_UID, workloads, storage, hooks
# ---------------------------------------------------------------------------------------------
def namespaced(docs):
    return [d for d in docs if d["kind"] not in ("Namespace", "StorageClass")]


def test_admin_namespaces_without_instance_uid():
    docs = admin_render()
    names = {d["metadata"]["name"] for d in find(docs, "Namespace")}
    assert names == {"admin", "services", "extensions", "project-admin"}
    for ns in find(docs, "Namespace"):
        assert ns["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert {d["metadata"]["namespace"] for d in namespaced(docs)} <= names | {"default"}
    one(docs, "Service", "traefik-0", "admin")
    assert not find(docs, "Deployment", "traefik", "services")


def test_admin_namespaces_with_instance_uid():
    docs = admin_render(namespace="a-default", uid="a")
    names = {d["metadata"]["name"] for d in find(docs, "Namespace")}
    assert names == {"admin", "a-services", "a-extensions", "project-admin"}
    for ns in find(docs, "Namespace"):
        assert ns["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
        assert ns["metadata"]["annotations"]["kaapana.io/instance-uid"] == "a"
    assert {d["metadata"]["namespace"] for d in namespaced(docs)} <= names | {"a-default"}
    cm, vals = recorded_values(docs, "a-default")
    assert cm["data"]["release.namespace"] == "a-default"
    g = vals["global"]
    assert g["instance_uid"] == "a" and g["include_reverse_proxy"] is True
    assert g["fast_data_dir"] == "/home/kaapana-a" and g["slow_data_dir"] == "/home/kaapana-slow-a"
    # own reverse proxy for the instance (kaapana-platform-chart), shared admin namespace keeps the main one
    one(docs, "Service", "traefik-a", "admin")
    one(docs, "Deployment", "traefik", "admin")
    assert not find(docs, "Deployment", namespace="a-services")
    platform = phase2_render(docs, "kaapana-platform-chart")
    one(platform, "Deployment", "traefik", "a-services")
    one(platform, "Deployment", "oauth2-proxy", "a-services")
    assert {d["metadata"]["namespace"] for d in namespaced(platform)} <= names
    job = one(docs, "Job", "version-file-writer", "admin")
    env = {e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["VERSION_FILE"] == "/home/kaapana-a/version"


def test_admin_workloads():
    admin = admin_render(registry="registry.lab.example/kaapana", dev_mode="false")
    # phase 1 (admin chart): only the admin namespace's workloads
    assert {(d["metadata"]["namespace"], d["metadata"]["name"]) for d in find(admin, "Deployment")} == {
        ("admin", "traefik"), ("admin", "oauth2-proxy"), ("admin", "keycloak"),
        ("admin", "kube-helm"), ("admin", "squid-proxy")}
    assert {(j["metadata"]["namespace"], base_name(j["metadata"]["name"]))
            for j in find(admin, "Job") if not hook(j)} == {
        ("admin", "version-file-writer"), ("admin", "init-collections"), ("admin", "init-extensions"),
        ("admin", "cert-init")}
    # phase 2 (kube-helm's preinstalled releases): the services namespace fills
    docs = platform_docs(admin)
    deployments = find(docs, "Deployment")
    assert {(d["metadata"]["namespace"], d["metadata"]["name"]) for d in deployments} == {
        ("admin", "traefik"), ("admin", "oauth2-proxy"), ("admin", "keycloak"),
        ("admin", "kube-helm"), ("admin", "squid-proxy"), ("services", "landing-page"),
        ("services", "postgres"), ("services", "minio"), ("services", "airflow-scheduler"),
        ("services", "code-server")}
    jobs = [j for j in find(docs, "Job") if not hook(j)]
    assert {j["metadata"]["namespace"] for j in jobs} == {
        "admin", "services", "extensions", "project-admin"}
    vfw = one(docs, "Job", "version-file-writer", "admin")
    assert vfw["spec"]["ttlSecondsAfterFinished"] == 300
    for workload in deployments + jobs:
        spec = workload["spec"]["template"]["spec"]
        assert "securityContext" not in spec
        for c in spec["containers"]:
            assert c["image"].startswith("registry.lab.example/kaapana/")
            assert c["image"].endswith(":0.6.0-lab")
            assert c["imagePullPolicy"] == "IfNotPresent"
            assert "securityContext" not in c
        selector = spec.get("nodeSelector")
        if base_name(workload["metadata"]["name"]) == "cert-copy":  # Kaapana's: a PVC, no nodeSelector
            assert selector is None
        elif any("persistentVolumeClaim" in v for v in spec.get("volumes", [])):
            assert selector == {"kaapana.io/node": "storage"}, workload["metadata"]["name"]
        else:
            assert selector is None, workload["metadata"]["name"]
    for svc in find(docs, "Service"):
        assert svc["spec"]["type"] == "ClusterIP"
    https = one(docs, "Service", "oauth2-proxy-service", "admin")
    assert https["spec"]["ports"][0]["port"] == 8443
    kube_helm = one(docs, "Deployment", "kube-helm", "admin")
    env = {e["name"]: e.get("value") for e in
           kube_helm["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["RELEASE_NAME"] == "kaapana-admin-chart" and env["HELM_NAMESPACE"] == "admin"
    assert env["NO_PROXY"] == "10.152.183.0/24,10.1.0.0/16,10.89.0.11/32,10.89.0.1/32"


def test_admin_squid_gets_the_upstream_proxies():
    docs = admin_render(http_proxy="http://proxy.lab.example:3128",
                        https_proxy="http://proxy.lab.example:3129")
    squid = one(docs, "Deployment", "squid-proxy", "admin")
    env = {e["name"]: e["value"] for e in squid["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env == {"UPSTREAM_HTTP_PROXY": "http://proxy.lab.example:3128",
                   "UPSTREAM_HTTPS_PROXY": "http://proxy.lab.example:3129"}
    one(docs, "Service", "squid-proxy-service", "admin")


def test_admin_pod_annotations_for_fault_injection():
    docs = admin_render(
        "--set-string", "podAnnotations.kwok\\.test/ready-after=3",
        "--set-string", "componentPodAnnotations.landing-page.kwok\\.test/fault=CrashLoopBackOff",
        "--set-string", "componentPodAnnotations.code-server.kwok\\.test/fault=ImagePullBackOff",
        "--set-string", "componentPodAnnotations.dummy-workflow.kwok\\.test/fault=Failed",
        "--set-string", "hookPodAnnotations.postDelete.kwok\\.test/fault=Failed")
    keycloak = one(docs, "Deployment", "keycloak", "admin")
    assert keycloak["spec"]["template"]["metadata"]["annotations"] == {"kwok.test/ready-after": "3"}
    # the admin release's values reach the workloads of the releases kube-helm preinstalls
    docs = platform_docs(docs)
    code_server = one(docs, "Deployment", "code-server", "services")
    assert code_server["spec"]["template"]["metadata"]["annotations"] == {
        "kwok.test/ready-after": "3", "kwok.test/fault": "ImagePullBackOff"}
    dummy = one(docs, "Job", "dummy-workflow", "services")
    assert dummy["spec"]["template"]["metadata"]["annotations"]["kwok.test/fault"] == "Failed"
    landing = one(docs, "Deployment", "landing-page", "services")
    assert landing["spec"]["template"]["metadata"]["annotations"] == {
        "kwok.test/ready-after": "3", "kwok.test/fault": "CrashLoopBackOff"}
    minio = one(docs, "Deployment", "minio", "services")
    assert minio["spec"]["template"]["metadata"]["annotations"] == {"kwok.test/ready-after": "3"}
    post = one(docs, "Job", "kaapana-post-delete", "default")
    assert post["spec"]["template"]["metadata"]["annotations"] == {"kwok.test/fault": "Failed"}
    pre = one(docs, "Job", "kaapana-pre-install", "default")
    assert "annotations" not in pre["spec"]["template"]["metadata"]
    clean = platform_docs(admin_render())
    assert "annotations" not in one(clean, "Deployment", "landing-page")["spec"]["template"]["metadata"]


@pytest.mark.parametrize("storage,classes,workflow_mode", [
    ("hostpath", ("kaapana-hostpath-fast-data-dir", "kaapana-hostpath-slow-data-dir",
                  "kaapana-hostpath-fast-data-dir"), "ReadWriteOnce"),
    ("longhorn", ("kaapana-longhorn-fast-db", "kaapana-longhorn-slow-data",
                  "kaapana-longhorn-fast-workflow"), "ReadWriteMany"),
])
def test_admin_pvcs_use_the_given_storage_classes(storage, classes, workflow_mode):
    admin = admin_render(storage=storage)
    assert {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in find(admin, "PersistentVolumeClaim")} == {
        ("admin", "extensions-pv-claim"), ("admin", "tls-pv-claim")}
    docs = platform_docs(admin)
    fast, slow, workflow = classes
    pvcs = {(p["metadata"]["namespace"], p["metadata"]["name"]): p
            for p in find(docs, "PersistentVolumeClaim")}
    want = {
        ("admin", "extensions-pv-claim"): (fast, "10Gi", "ReadWriteOnce"),
        ("admin", "tls-pv-claim"): (fast, "10Gi", "ReadWriteOnce"),  # cert-init-chart's dynamicVolumes "tls"
        ("services", "postgres-pv-claim"): (fast, "10Gi", "ReadWriteOnce"),
        ("services", "minio-pv-claim"): (slow, "123Gi", "ReadWriteOnce"),
        ("services", "workflow-data-pv-claim"): (workflow, "10Gi", workflow_mode),
    }
    assert set(pvcs) == set(want)
    for key, (cls, size, mode) in want.items():
        spec = pvcs[key]["spec"]
        assert spec["storageClassName"] == cls, key
        assert spec["resources"]["requests"]["storage"] == size, key
        assert spec["accessModes"] == [mode], key
        assert pvcs[key]["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    mounted = {(d["metadata"]["namespace"], v["persistentVolumeClaim"]["claimName"])
               for d in find(docs, "Deployment") + find(docs, "Job")
               for v in d["spec"]["template"]["spec"].get("volumes", [])
               if "persistentVolumeClaim" in v}
    assert mounted == set(want)


def test_admin_storage_classes_as_kaapana_060():
    docs = admin_render()
    classes = {c["metadata"]["name"]: c for c in find(docs, "StorageClass")}
    assert set(classes) == {"kaapana-hostpath-slow-data-dir", "kaapana-hostpath-fast-data-dir",
                            "kaapana-longhorn-slow-data", "kaapana-longhorn-fast-db",
                            "kaapana-longhorn-fast-workflow"}
    assert classes["kaapana-hostpath-slow-data-dir"]["parameters"] == {"pvDir": "/home/kaapana-slow"}
    assert classes["kaapana-hostpath-fast-data-dir"]["parameters"] == {"pvDir": "/home/kaapana"}
    for name in ("kaapana-hostpath-slow-data-dir", "kaapana-hostpath-fast-data-dir"):
        assert classes[name]["provisioner"] == "microk8s.io/hostpath"
        assert classes[name]["volumeBindingMode"] == "WaitForFirstConsumer"
    slow = classes["kaapana-longhorn-slow-data"]
    assert slow["provisioner"] == "driver.longhorn.io" and slow["reclaimPolicy"] == "Retain"
    assert slow["parameters"]["diskSelector"] == "slow-data"
    assert slow["allowedTopologies"][0]["matchLabelExpressions"][0]["values"] == ["lab-node-1"]
    assert classes["kaapana-longhorn-fast-db"]["parameters"]["diskSelector"] == "fast-data"
    assert classes["kaapana-longhorn-fast-workflow"]["parameters"]["numberOfReplicas"] == "2"
    assert not find(admin_render("--set", "lab.createStorageClasses=false"), "StorageClass")


def hook(doc):
    return doc["metadata"].get("annotations", {}).get("helm.sh/hook")


# ---------------------------------------------------------------------------------------------
# the two shapes, storage pinning, kube-helm's preinstall, Traefik v3 CRDs
# ---------------------------------------------------------------------------------------------
def pod_claims(workload):
    return [v["persistentVolumeClaim"]["claimName"] for v in workload["spec"]["template"]["spec"].get("volumes", [])
            if "persistentVolumeClaim" in v]


@pytest.mark.parametrize("version", ["0.6.0-lab", "0.6.1-lab"])
@pytest.mark.parametrize("line", [{}, {"uid": "a", "storage": "longhorn"}], ids=["default", "uid-longhorn"])
def test_every_pod_with_a_kaapana_pvc_is_pinned_to_the_storage_node(version, line):
    """Kaapana's kaapana.nodeSelector: every pod that mounts a Kaapana PVC runs on kaapana.io/node=<storage_node>,
    in the admin chart and in every release kube-helm preinstalls. The one exception is Kaapana's too: cert-copy
    mounts tls-pv-claim without a nodeSelector (its cert-copy-job.yaml has none)."""
    namespace = "a-default" if line else "default"
    admin = render(STAGED[("kaapana-admin-chart", version)], *set_args(kaapana_set_line(**line)),
                   "--set-string", "global.storage_node=main-storage", namespace=namespace)
    docs = platform_docs(admin, version=version)
    pinned, unpinned = set(), set()
    for workload in find(docs, "Deployment") + find(docs, "Job"):
        spec = workload["spec"]["template"]["spec"]
        name = base_name(workload["metadata"]["name"])
        if pod_claims(workload) and name == "cert-copy":
            assert "nodeSelector" not in spec
            unpinned.add(name)
        elif pod_claims(workload):
            assert spec.get("nodeSelector") == {"kaapana.io/node": "main-storage"}, workload["metadata"]["name"]
            pinned.add(name)
    assert pinned == {"kube-helm", "init-collections", "init-extensions", "postgres", "minio", "airflow-scheduler",
                      "code-server", "dummy-workflow", "registration-workflow", "cert-init"}
    assert unpinned == {"cert-copy"}


def test_the_060_and_061_shapes_come_from_one_source():
    """0.6.0-lab: the admin chart creates the five classes. 0.6.1-lab: it carries charts/kaapana-storage-chart
    (condition kaapana-storage-chart.enabled, false) and creates none; both stamp their version everywhere."""
    for version, app in (("0.5.3-lab", "0.5.3"), ("0.6.0-lab", "0.6.0"), ("0.6.1-lab", "0.6.1")):
        for name in ("kaapana-admin-chart",) + PHASE2:
            chart = yaml.safe_load(open(os.path.join(STAGED[(name, version)], "Chart.yaml")))
            assert (chart["version"], chart["appVersion"]) == (version, app), name
            assert os.path.isfile(os.path.join(STAGED[(name, version)], "charts", "kaapana-library-chart", "Chart.yaml"))
    old = yaml.safe_load(open(os.path.join(ADMIN, "Chart.yaml")))
    new = yaml.safe_load(open(os.path.join(ADMIN_061, "Chart.yaml")))
    assert [d["name"] for d in old["dependencies"]] == ["kaapana-library-chart", "migration-chart"]
    storage = [d for d in new["dependencies"] if d["name"] == "kaapana-storage-chart"]
    assert storage == [{"name": "kaapana-storage-chart", "version": "0.6.1-lab",
                        "condition": "kaapana-storage-chart.enabled"}]
    assert not os.path.exists(os.path.join(ADMIN, "charts", "kaapana-storage-chart"))
    values = yaml.safe_load(open(os.path.join(ADMIN_061, "values.yaml")))
    assert values["kaapana-storage-chart"] == {"enabled": False}
    assert values["lab"]["createStorageClasses"] is False
    assert values["global"]["kaapana_build_version"] == "0.6.1-lab"
    assert {e["version"] for e in values["global"]["preinstall_extensions"]} == {"0.6.1-lab"}
    assert len(find(admin_render(), "StorageClass")) == 5
    docs = render(ADMIN_061, *set_args(kaapana_set_line()))
    assert not find(docs, "StorageClass")
    vals = recorded_values(docs)[1]
    assert vals["kaapana-storage-chart"] == {"enabled": False}
    assert recorded_values(docs)[0]["data"]["chart.version"] == "0.6.1-lab"


def test_061_package_carries_the_storage_chart(tmp_path):
    """What the platform role detects: <chart>/charts/kaapana-storage-chart/Chart.yaml in the archive."""
    for chart, carries in ((ADMIN, False), (ADMIN_061, True)):
        helm("package", chart, "--destination", str(tmp_path))
    with tarfile.open(str(tmp_path / "kaapana-admin-chart-0.6.1-lab.tgz")) as tar:
        assert "kaapana-admin-chart/charts/kaapana-storage-chart/Chart.yaml" in tar.getnames()
    with tarfile.open(str(tmp_path / "kaapana-admin-chart-0.6.0-lab.tgz")) as tar:
        assert not [n for n in tar.getnames() if "kaapana-storage-chart" in n]


def test_storage_subchart_renders_the_five_classes_as_kaapanactl_installs_it():
    # kaapanactl.sh 0.6.1: helm -n kaapana-system upgrade --install kaapana-storageclass <chart>/charts/
    # kaapana-storage-chart --create-namespace --set-string global.main_node_name=... global.replica_count=...
    chart = yaml.safe_load(open(os.path.join(STORAGE, "Chart.yaml")))
    assert (chart["apiVersion"], chart["name"], chart["version"]) == ("v1", "kaapana-storage-chart", "0.6.1-lab")
    docs = render(STORAGE, "--set-string", "global.main_node_name=lab-node-1", "--set-string", "global.replica_count=3",
                  "--set-string", "global.fast_data_dir=/fast", "--set-string", "global.slow_data_dir=/slow",
                  release="kaapana-storageclass", namespace="kaapana-system")
    assert [d["kind"] for d in docs] == ["StorageClass"] * 5
    classes = {c["metadata"]["name"]: c for c in docs}
    assert classes["kaapana-hostpath-fast-data-dir"]["parameters"] == {"pvDir": "/fast"}
    assert classes["kaapana-hostpath-slow-data-dir"]["parameters"] == {"pvDir": "/slow"}
    for name in ("kaapana-hostpath-fast-data-dir", "kaapana-hostpath-slow-data-dir"):
        assert classes[name]["provisioner"] == "microk8s.io/hostpath"
    for name in ("kaapana-longhorn-fast-db", "kaapana-longhorn-slow-data"):
        assert classes[name]["provisioner"] == "driver.longhorn.io"
        assert classes[name]["allowedTopologies"][0]["matchLabelExpressions"][0] == {
            "key": "kubernetes.io/hostname", "values": ["lab-node-1"]}
    workflow = classes["kaapana-longhorn-fast-workflow"]
    assert workflow["provisioner"] == "driver.longhorn.io"
    assert workflow["parameters"]["numberOfReplicas"] == "3"
    # the admin chart never renders it (condition false), even with every admin value given
    assert not find(render(ADMIN_061, *set_args(kaapana_set_line())), "StorageClass")


def test_traefik_v3_crds():
    docs = render(ADMIN_061, include_crds=True)
    crds = {c["metadata"]["name"]: c for c in find(docs, "CustomResourceDefinition")}
    assert set(crds) == {"middlewares.traefik.io", "ingressroutes.traefik.io"}
    for name, kind in (("middlewares.traefik.io", "Middleware"), ("ingressroutes.traefik.io", "IngressRoute")):
        spec = crds[name]["spec"]
        assert spec["group"] == "traefik.io" and spec["names"]["kind"] == kind and spec["scope"] == "Namespaced"
        assert [(v["name"], v["served"], v["storage"]) for v in spec["versions"]] == [("v1alpha1", True, True)]
    for path in os.listdir(os.path.join(ADMIN, "crds")):
        with open(os.path.join(ADMIN, "crds", path)) as handle:
            assert len([d for d in yaml.safe_load_all(handle) if d]) == 1, path
    assert "traefik.containo.us" not in json.dumps(docs)


@pytest.mark.parametrize("version", ["0.6.0-lab", "0.6.1-lab"])
def test_init_extensions_job_and_the_values_kube_helm_passes(version):
    docs = render(STAGED[("kaapana-admin-chart", version)], *set_args(kaapana_set_line(uid="a")),
                  "--set-string", "componentPodAnnotations.landing-page.kwok\\.test/fault=Failed",
                  namespace="a-default")
    job = one(docs, "Job", "init-extensions", "admin")
    env = {e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert json.loads(env["PREINSTALL_EXTENSIONS"]) == [{"name": n, "version": version} for n in PHASE2]
    assert env["HELM_NAMESPACE"] == "admin" and env["RELEASE_NAME"] == "kaapana-admin-chart"
    one(docs, "Job", "init-collections", "admin")
    secret = one(docs, "Secret", job["metadata"]["annotations"]["kaapana.lab/values-secret"], "admin")
    assert secret["metadata"]["name"] == "kaapana-admin-chart-preinstall-values"
    values = yaml.safe_load(forwarded_values(docs))
    g = values["global"]
    # the admin release's global values (so data_safety recognises the releases), without the two lists
    assert g["release_name"] == "kaapana-admin-chart" and g["instance_uid"] == "a"
    assert g["services_namespace"] == "a-services" and g["kaapana_build_version"] == version
    assert "preinstall_extensions" not in g and "kaapana_collections" not in g
    assert g["credentials_minio_password"] == PASSWORDS["global.credentials_minio_password"]
    assert values["componentPodAnnotations"] == {"landing-page": {"kwok.test/fault": "Failed"}}
    assert set(values) == {"global", "podAnnotations", "componentPodAnnotations", "lab"}


def test_preinstall_fail_release_fault():
    admin = admin_render("--set-string", "lab.preinstallFailRelease=code-server-chart")
    failing = phase2_render(admin, "code-server-chart")
    job = one(failing, "Job", "lab-preinstall-fault", "admin")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job["metadata"]["annotations"]["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-failed"
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["template"]["metadata"]["annotations"] == {"kwok.test/fault": "Failed"}
    for chart in ("kaapana-platform-chart", "kaapana-workflows-core"):
        assert not find(phase2_render(admin, chart), "Job", "lab-preinstall-fault")
    assert not find(phase2_render(admin_render(), "code-server-chart"), "Job", "lab-preinstall-fault")


def test_admin_hooks():
    docs = admin_render()
    hooks = {(d["kind"], d["metadata"]["namespace"], base_name(d["metadata"]["name"])): d
             for d in docs if hook(d)}
    assert {k: hook(v) for k, v in hooks.items()} == {
        ("Job", "default", "kaapana-pre-install"): "pre-install",
        ("Job", "admin", "kaapana-pre-delete"): "pre-delete",
        ("Job", "admin", "remove-secret"): "pre-delete",
        ("ConfigMap", "default", "kaapana-hook-evidence"): "post-delete",
        ("Job", "default", "kaapana-post-delete"): "post-delete",
    }
    policy = "helm.sh/hook-delete-policy"
    evidence = hooks[("ConfigMap", "default", "kaapana-hook-evidence")]
    assert evidence["metadata"]["annotations"][policy] == "before-hook-creation"
    assert evidence["data"]["release.name"] == "kaapana-admin-chart"
    assert hooks[("Job", "default", "kaapana-post-delete")]["metadata"]["annotations"][policy] == (
        "before-hook-creation")
    assert hooks[("Job", "default", "kaapana-pre-install")]["metadata"]["annotations"][policy] == (
        "before-hook-creation")
    no_hooks = admin_render("--no-hooks")
    assert not [d for d in no_hooks if hook(d)]


# ---------------------------------------------------------------------------------------------
# Kaapana's TLS Secret "certificate": the cert-init/cert-copy/remove-secret Jobs and who mounts it
# ---------------------------------------------------------------------------------------------
def cert_jobs(docs, prefix):
    jobs = [d for d in find(docs, "Job") if d["metadata"]["name"].startswith(prefix + "-")]
    for job in jobs:
        assert RANDOM_SUFFIX.match(job["metadata"]["name"]), job["metadata"]["name"]
    return jobs


def job_env(job):
    return [(e["name"], e["value"]) for e in job["spec"]["template"]["spec"]["containers"][0]["env"]]


@pytest.mark.parametrize("version", ["0.6.0-lab", "0.6.1-lab"])
@pytest.mark.parametrize("uid", ["", "a"], ids=["default", "uid"])
def test_cert_jobs_as_kaapana(version, uid):
    """cert-init-chart's cert-init-job (admin chart), cert-remove-job (its pre-delete hook) and cert-copy-chart's
    cert-copy-job (kaapana-platform-chart): names cert-init-/remove-secret-/cert-copy- + 3 random lower-case
    alphanumerics, admin namespace, handle-secret.sh's env with SECRET_NAMESPACE = the services namespace."""
    namespace = "a-default" if uid else "default"
    admin = render(STAGED[("kaapana-admin-chart", version)], *set_args(kaapana_set_line(uid=uid)), namespace=namespace)
    services = "a-services" if uid else "services"
    common = [("SECRET_NAME", "certificate"), ("SECRET_NAMESPACE", services), ("ADMIN_NAMESPACE", "admin")]
    [init] = cert_jobs(admin, "cert-init")
    assert not hook(init) and init["metadata"]["namespace"] == "admin"
    assert job_env(init) == [("ACTION", "install")] + common + [
        ("COMMON_NAME", "kaapana"), ("EXPIRATION", "365"), ("HOSTNAME", "kaapana.lab.example")]
    spec = init["spec"]["template"]["spec"]
    container = spec["containers"][0]
    assert container["image"] == "10.89.0.1:5000/kaapana/cert-init:" + version
    assert container["imagePullPolicy"] == "Always"  # pull_policy_images
    assert spec["nodeSelector"] == {"kaapana.io/node": "storage"}
    assert pod_claims(init) == ["tls-pv-claim"] and container["volumeMounts"][0]["mountPath"] == "/cert/tls"
    assert init["spec"]["backoffLimit"] == 6
    [remove] = cert_jobs(admin, "remove-secret")
    assert hook(remove) == "pre-delete" and remove["metadata"]["namespace"] == "admin"
    assert remove["metadata"]["annotations"]["helm.sh/hook-weight"] == "-5"
    assert remove["metadata"]["annotations"]["helm.sh/hook-delete-policy"] == "hook-succeeded,hook-failed"
    assert job_env(remove) == [("ACTION", "remove")] + common
    assert "volumes" not in remove["spec"]["template"]["spec"]
    assert not cert_jobs(admin, "cert-copy")
    platform = phase2_render(admin, "kaapana-platform-chart", version=version)
    [copy] = cert_jobs(platform, "cert-copy")
    assert copy["metadata"]["namespace"] == "admin"
    assert job_env(copy) == [("ACTION", "copy")] + common + [("COMMON_NAME", "kaapana"), ("EXPIRATION", "365")]
    assert pod_claims(copy) == ["tls-pv-claim"] and "nodeSelector" not in copy["spec"]["template"]["spec"]
    assert copy["spec"]["template"]["spec"]["containers"][0]["image"] == "10.89.0.1:5000/kaapana/cert-init:" + version
    for chart in ("code-server-chart", "kaapana-workflows-core"):
        assert not [j for j in find(phase2_render(admin, chart, version=version), "Job")
                    if base_name(j["metadata"]["name"]) != j["metadata"]["name"]]
    # a new name at every render: each install or upgrade makes a new Job (a new UID for the stand-in)
    names = {cert_jobs(render(ADMIN), "cert-init")[0]["metadata"]["name"] for dummy in range(4)}
    assert len(names) > 1


def test_cert_jobs_take_global_tls_secret_but_the_deployments_mount_certificate():
    """global.tls_secret.* reach the Jobs' env; Kaapana's deployment templates name the Secret literally."""
    admin = admin_render("--set-string", "global.tls_secret.name=my-cert",
                         "--set-string", "global.tls_secret.common_name=kaapana.lab.example",
                         "--set", "global.tls_secret.expiration=730", "--set-string", "global.hostname=192.0.2.10")
    [init] = cert_jobs(admin, "cert-init")
    env = dict(job_env(init))
    assert (env["SECRET_NAME"], env["COMMON_NAME"], env["EXPIRATION"], env["HOSTNAME"]) == (
        "my-cert", "kaapana.lab.example", "730", "192.0.2.10")
    [copy] = cert_jobs(phase2_render(admin, "kaapana-platform-chart"), "cert-copy")
    assert dict(job_env(copy))["SECRET_NAME"] == "my-cert"
    docs = platform_docs(admin)
    assert {v["secret"]["secretName"] for d in find(docs, "Deployment")
            for v in d["spec"]["template"]["spec"].get("volumes", []) if "secret" in v} == {"certificate"}


def secret_mounts(workload):
    """{secretName: [(volume, mountPath, subPath, readOnly)]} of a workload's pod."""
    spec = workload["spec"]["template"]["spec"]
    secrets = {v["name"]: v["secret"]["secretName"] for v in spec.get("volumes", []) if "secret" in v}
    mounts = {}
    for container in spec["containers"]:
        for m in container.get("volumeMounts", []):
            if m["name"] in secrets:
                mounts.setdefault(secrets[m["name"]], []).append(
                    (m["name"], m["mountPath"], m.get("subPath"), m.get("readOnly", False)))
    return mounts


@pytest.mark.parametrize("uid", ["", "a"], ids=["default", "uid-own-proxy"])
def test_which_deployments_mount_the_tls_secret(uid):
    """As Kaapana's templates: traefik (/ssl), oauth2-proxy (/ssl), keycloak (/etc/x509/https, read-only) in the
    admin namespace, minio (tls.crt as its CA file, a subPath) and, with include_reverse_proxy, the instance's own
    traefik and oauth2-proxy in the services namespace. No other Deployment and no Job mounts a Secret."""
    admin = admin_render(namespace="a-default" if uid else "default", uid=uid)
    docs = platform_docs(admin)
    services = "a-services" if uid else "services"
    want = {
        ("admin", "traefik"): [("ssl", "/ssl", None, False)],
        ("admin", "oauth2-proxy"): [("ssl-config", "/ssl", None, False)],
        ("admin", "keycloak"): [("ssl-config-files", "/etc/x509/https", None, True)],
        (services, "minio"): [("kaapana-cert", "/root/.minio/certs/CAs/kaapana.pem", "tls.crt", False)],
    }
    if uid:
        want[(services, "traefik")] = [("ssl", "/ssl", None, False)]
        want[(services, "oauth2-proxy")] = [("ssl-config", "/ssl", None, False)]
    got = {}
    for deployment in find(docs, "Deployment"):
        mounts = secret_mounts(deployment)
        if mounts:
            assert set(mounts) == {"certificate"}, deployment["metadata"]["name"]
            got[(deployment["metadata"]["namespace"], deployment["metadata"]["name"])] = mounts["certificate"]
    assert got == want
    unmounted = {(d["metadata"]["namespace"], d["metadata"]["name"]) for d in find(docs, "Deployment")} - set(want)
    assert {name for dummy, name in unmounted} == {
        "kube-helm", "squid-proxy", "landing-page", "postgres", "airflow-scheduler", "code-server"}
    for job in find(docs, "Job"):
        assert not secret_mounts(job), job["metadata"]["name"]
    minio = one(docs, "Deployment", "minio", services)
    volume = [v for v in minio["spec"]["template"]["spec"]["volumes"] if v["name"] == "kaapana-cert"][0]
    assert volume["secret"] == {"secretName": "certificate", "defaultMode": 420}
    # a Secret volume does not pin a pod; the PVC still does
    assert "nodeSelector" not in one(docs, "Deployment", "traefik", "admin")["spec"]["template"]["spec"]
    assert minio["spec"]["template"]["spec"]["nodeSelector"] == {"kaapana.io/node": "storage"}


def test_remove_secret_hook_fault_injection():
    """hookPodAnnotations.removeSecret reaches only the remove-secret Job's pod; podAnnotations never do (hooks)."""
    docs = admin_render("--set-string", "hookPodAnnotations.removeSecret.kwok\\.test/fault=Failed",
                        "--set-string", "podAnnotations.kwok\\.test/ready-after=3")
    [remove] = cert_jobs(docs, "remove-secret")
    assert remove["spec"]["template"]["metadata"]["annotations"] == {"kwok.test/fault": "Failed"}
    [init] = cert_jobs(docs, "cert-init")
    assert init["spec"]["template"]["metadata"]["annotations"] == {"kwok.test/ready-after": "3"}
    [clean] = cert_jobs(admin_render("--set-string", "podAnnotations.kwok\\.test/ready-after=3"), "remove-secret")
    assert "annotations" not in clean["spec"]["template"]["metadata"]


# ---------------------------------------------------------------------------------------------
# longhorn
# ---------------------------------------------------------------------------------------------
MICROK8S_KUBELET = "/var/snap/microk8s/common/var/lib/kubelet"


def longhorn_render(*extra):
    return render(LONGHORN, "--set", "csi.kubeletRootDir=" + MICROK8S_KUBELET,
                  "--set", "lab.nodes[0]=lab-node-1",
                  "--set", "lab.nodes[1].name=lab-node-2",
                  "--set-string", "lab.nodes[1].fsid=4a3b2c1d",
                  *extra, release="longhorn", namespace="longhorn-system", include_crds=True)


def test_longhorn_chart_metadata():
    chart = yaml.safe_load(open(os.path.join(LONGHORN, "Chart.yaml")))
    assert (chart["name"], chart["version"], chart["appVersion"]) == ("longhorn", "1.10.1", "v1.10.1")


def test_longhorn_crds():
    docs = longhorn_render()
    crds = {c["metadata"]["name"]: c for c in find(docs, "CustomResourceDefinition")}
    assert set(crds) == {"nodes.longhorn.io", "settings.longhorn.io", "volumes.longhorn.io",
                         "backuptargets.longhorn.io", "recurringjobs.longhorn.io"}
    for name, kind in (("nodes.longhorn.io", "Node"), ("settings.longhorn.io", "Setting"),
                       ("volumes.longhorn.io", "Volume"), ("backuptargets.longhorn.io", "BackupTarget"),
                       ("recurringjobs.longhorn.io", "RecurringJob")):
        spec = crds[name]["spec"]
        assert spec["group"] == "longhorn.io" and spec["names"]["kind"] == kind
        assert spec["scope"] == "Namespaced"
        assert [(v["name"], v["served"], v["storage"]) for v in spec["versions"]] == [
            ("v1beta2", True, True)]
    node_spec = crds["nodes.longhorn.io"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"][
        "properties"]["spec"]
    assert node_spec["x-kubernetes-preserve-unknown-fields"] is True
    assert "additionalProperties" in node_spec["properties"]["disks"]
    setting = crds["settings.longhorn.io"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert setting["properties"]["value"] == {"type": "string"}


def longhorn_schema(docs, name):
    crd = one(docs, "CustomResourceDefinition", name)
    [version] = crd["spec"]["versions"]
    assert version["subresources"] == {"status": {}}
    return crd, version["schema"]["openAPIV3Schema"]


def preserves_unknown_fields(schema):
    return schema.get("x-kubernetes-preserve-unknown-fields") or any(
        preserves_unknown_fields(value) for value in schema.values() if isinstance(value, dict))


def test_longhorn_backup_target_and_recurring_job_crds_as_longhorn_110():
    docs = longhorn_render()
    crd, schema = longhorn_schema(docs, "backuptargets.longhorn.io")
    assert crd["spec"]["names"]["shortNames"] == ["lhbt"]
    assert schema["properties"]["spec"]["properties"] == {
        "backupTargetURL": {"type": "string"}, "credentialSecret": {"type": "string"},
        "pollInterval": {"type": "string"},
        "syncRequestedAt": {"type": "string", "format": "date-time", "nullable": True}}
    status = schema["properties"]["status"]["properties"]
    assert set(status) == {"available", "conditions", "lastSyncedAt", "ownerID"}
    assert set(status["conditions"]["items"]["properties"]) == {
        "lastProbeTime", "lastTransitionTime", "message", "reason", "status", "type"}
    crd, schema = longhorn_schema(docs, "recurringjobs.longhorn.io")
    assert crd["spec"]["names"]["shortNames"] == ["lhrj"]
    spec = schema["properties"]["spec"]["properties"]
    assert spec["task"]["enum"] == ["snapshot", "snapshot-force-create", "snapshot-cleanup", "snapshot-delete",
                                    "backup", "backup-force-create", "filesystem-trim", "system-backup"]
    assert spec["retain"] == {"type": "integer"} and spec["concurrency"] == {"type": "integer"}
    assert spec["groups"] == {"type": "array", "items": {"type": "string"}}
    for key in ("labels", "parameters"):
        assert spec[key] == {"type": "object", "additionalProperties": {"type": "string"}}
    assert set(spec) == {"name", "task", "cron", "retain", "concurrency", "groups", "labels", "parameters"}
    assert set(schema["properties"]["status"]["properties"]) == {"ownerID", "executionCount"}
    # structural schemas without x-kubernetes-preserve-unknown-fields: a misspelt key is pruned (or refused by
    # kubectl's strict field validation), as on a real cluster
    for name in ("backuptargets.longhorn.io", "recurringjobs.longhorn.io"):
        assert not preserves_unknown_fields(longhorn_schema(docs, name)[1])


def load_provisioner():
    """The stand-in longhorn-manager (lab/standins/provisioner.py), to check that it reads what the chart renders."""
    import importlib.machinery
    import importlib.util
    loader = importlib.machinery.SourceFileLoader(
        "provisioner_fixture_charts", os.path.join(ROOT, "lab", "standins", "provisioner.py"))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


def default_resource(*args):
    docs = render(LONGHORN, *args, release="longhorn", namespace="longhorn-system")
    cm = one(docs, "ConfigMap", "longhorn-default-resource", "longhorn-system")
    assert cm["metadata"]["labels"]["app.kubernetes.io/name"] == "longhorn"
    return cm["data"]["default-resource.yaml"]


def test_longhorn_default_backup_store_renders_the_default_resource_configmap():
    prov = load_provisioner()
    # the real chart's defaults: every key unset, so the ConfigMap is empty and BackupTarget "default" keeps its values
    values = yaml.safe_load(open(os.path.join(LONGHORN, "values.yaml")))
    assert values["defaultBackupStore"] == {"backupTarget": None, "backupTargetCredentialSecret": None,
                                            "pollInterval": None}
    assert default_resource() == ""
    assert prov.longhorn_default_resource(default_resource()) == {}
    text = default_resource("--set", "defaultBackupStore.backupTarget=s3://kaapana-backups@us-east-1/kaapana",
                            "--set", "defaultBackupStore.backupTargetCredentialSecret=s3-secret",
                            "--set", "defaultBackupStore.pollInterval=300")
    # the real template's lines: unquoted values, in this order
    assert text == ("backup-target: s3://kaapana-backups@us-east-1/kaapana\n"
                    "backup-target-credential-secret: s3-secret\n"
                    "backupstore-poll-interval: 300")
    assert prov.longhorn_default_resource(text) == {
        "backup-target": "s3://kaapana-backups@us-east-1/kaapana", "backup-target-credential-secret": "s3-secret",
        "backupstore-poll-interval": "300"}
    assert prov.longhorn_backup_target_spec(prov.longhorn_default_resource(text))["pollInterval"] == "5m0s"
    # one key only; an NFS URL (host:/path) stays one scalar
    text = default_resource("--set", "defaultBackupStore.backupTarget=nfs://nfs.example:/export/kaapana")
    assert text == "backup-target: nfs://nfs.example:/export/kaapana"
    assert prov.longhorn_default_resource(text) == {"backup-target": "nfs://nfs.example:/export/kaapana"}
    # an empty string is set (not unset): the key is rendered empty and clears the BackupTarget's URL
    text = default_resource("--set", "defaultBackupStore.backupTarget=")
    assert text.rstrip() == "backup-target:"
    assert prov.longhorn_default_resource(text) == {"backup-target": ""}
    # the pre-1.8 key defaultSettings.backupTarget does nothing in Longhorn 1.10 (the chart no longer reads it)
    old = render(LONGHORN, "--set", "defaultSettings.backupTarget=s3://old@us-east-1/", release="longhorn",
                 namespace="longhorn-system")
    assert one(old, "ConfigMap", "longhorn-default-resource")["data"]["default-resource.yaml"] == ""
    assert "backup-target" not in one(old, "ConfigMap", "longhorn-default-setting")["data"]["default-setting.yaml"]
    assert not [s for s in find(old, "Setting") if s["metadata"]["name"].startswith("backup")]


def longhorn_policies(docs):
    return {p["metadata"]["name"]: p for p in find(docs, "ValidatingAdmissionPolicy")}


def test_longhorn_webhook_policies_for_backup_targets_and_recurring_jobs():
    docs = longhorn_render()
    policies = longhorn_policies(docs)
    bindings = {b["metadata"]["name"]: b for b in find(docs, "ValidatingAdmissionPolicyBinding")}
    for name, resource, operations in (("backup-target", "backuptargets", ["CREATE", "UPDATE", "DELETE"]),
                                       ("recurring-job", "recurringjobs", ["CREATE", "UPDATE"]),
                                       ("recurring-job-retain", "recurringjobs", ["CREATE", "UPDATE"])):
        full = "longhorn-lab-%s-longhorn-system" % name
        [rule] = policies[full]["spec"]["matchConstraints"]["resourceRules"]
        assert rule == {"apiGroups": ["longhorn.io"], "apiVersions": ["v1beta2"], "operations": operations,
                        "resources": [resource]}
        assert policies[full]["spec"]["failurePolicy"] == "Fail"
        binding = bindings[full]["spec"]
        assert binding["policyName"] == full and binding["validationActions"] == ["Deny"]
        assert binding["matchResources"]["namespaceSelector"]["matchLabels"] == {
            "kubernetes.io/metadata.name": "longhorn-system"}
    retain = policies["longhorn-lab-recurring-job-retain-longhorn-system"]["spec"]
    assert retain["paramKind"] == {"apiVersion": "longhorn.io/v1beta2", "kind": "Setting"}
    assert bindings["longhorn-lab-recurring-job-retain-longhorn-system"]["spec"]["paramRef"] == {
        "name": "recurring-job-max-retention", "namespace": "longhorn-system", "parameterNotFoundAction": "Allow"}
    messages = " ".join(v.get("message", "") + v.get("messageExpression", "")
                        for p in policies.values() for v in p["spec"]["validations"])
    for text in ("with the unsupported protocol", "deleting default backup target is not allowed", "invalid cron format(",
                 "retain value should be less than or equal to ", "invalid group name ", "must be 40 characters or less",
                 "is not a valid parameter"):
        assert text in messages
    off = longhorn_render("--set", "lab.webhookPolicies=false")
    assert set(longhorn_policies(off)) == {"longhorn-lab-deleting-confirmation-longhorn-system"}
    one(off, "ConfigMap", "longhorn-default-resource")


@pytest.mark.parametrize("cron, valid", [
    ("0 2 * * *", True), ("*/15 * * * *", True), ("0 0 1 jan-jun MON-FRI", True), ("0,30 8-18/2 ? * 1-5", True),
    ("@daily", True), ("@hourly", True), ("@every 1h30m", True), ("CRON_TZ=Europe/Berlin 0 3 * * *", True),
    ("TZ=UTC @weekly", True), (" 0 2 * * * ", True),
    ("0 25 * * *", False), ("60 * * * *", False), ("0 0 0 * *", False), ("0 0 * 13 *", False), ("0 0 * * 7", False),
    ("0 0 2 * * *", False), ("0 2 * *", False), ("*/0 * * * *", False), ("@reboot", False), ("@every", False),
    ("@Daily", False), (" @daily", False), ("every day", False), ("", False),
])
def test_longhorn_recurring_job_cron_check_is_robfig_cron_parse_standard(cron, valid):
    """The cron check of the rendered policy (an RE2 expression; Python's re reads this one alike)."""
    policy = longhorn_policies(longhorn_render())["longhorn-lab-recurring-job-longhorn-system"]
    [check] = [v["expression"] for v in policy["spec"]["validations"] if "variables.cron.matches(" in v["expression"]]
    pattern = re.search(r"variables\.cron\.matches\(r'([^']*)'\)", check).group(1)
    assert bool(re.search(pattern, cron)) is valid


def test_longhorn_storage_class_and_csi_driver():
    docs = longhorn_render()
    sc = one(docs, "StorageClass", "longhorn")
    assert sc["provisioner"] == "driver.longhorn.io"
    assert sc["allowVolumeExpansion"] is True and sc["reclaimPolicy"] == "Delete"
    assert sc["parameters"]["numberOfReplicas"] == "3"
    assert sc["parameters"]["staleReplicaTimeout"] == "30"
    assert sc["parameters"]["fsType"] == "ext4"
    assert sc["parameters"]["backupTargetName"] == "default"
    assert sc["parameters"]["unmapMarkSnapChainRemoved"] == "ignored"
    assert "recurringJobSelector" not in sc["parameters"]
    cm = one(docs, "ConfigMap", "longhorn-storageclass", "longhorn-system")
    assert yaml.safe_load(cm["data"]["storageclass.yaml"])["provisioner"] == "driver.longhorn.io"
    one(docs, "CSIDriver", "driver.longhorn.io")


def test_longhorn_storage_class_recurring_job_selector_as_the_real_chart_renders_it(tmp_path):
    prov = load_provisioner()
    # a JSON string (the real chart's documented form) gives valid JSON
    docs = longhorn_render("--set", "persistence.recurringJobSelector.enable=true", "--set-string",
                           'persistence.recurringJobSelector.jobList=[{"name":"backup"\\,"isGroup":true}]')
    selector = one(docs, "StorageClass", "longhorn")["parameters"]["recurringJobSelector"]
    assert prov.longhorn_recurring_job_selector(selector) == {"recurring-job-group.longhorn.io/backup": "enabled"}
    cm = yaml.safe_load(one(docs, "ConfigMap", "longhorn-storageclass")["data"]["storageclass.yaml"])
    assert cm["parameters"]["recurringJobSelector"] == selector
    # a YAML list is printed the Go way: Longhorn's CSI driver (and the stand-in) refuse it, PVCs stay Pending
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"persistence": {"recurringJobSelector": {
        "enable": True, "jobList": [{"name": "backup", "isGroup": True}]}}}))
    docs = longhorn_render("-f", str(values))
    selector = one(docs, "StorageClass", "longhorn")["parameters"]["recurringJobSelector"]
    assert selector == "[map[isGroup:true name:backup]]"
    with pytest.raises(ValueError, match="invalid json format of recurringJobSelector"):
        prov.longhorn_recurring_job_selector(selector)


def test_longhorn_workloads_and_kubelet_root_dir():
    docs = longhorn_render()
    assert all(d["metadata"]["namespace"] == "longhorn-system"
               for d in find(docs, "Deployment") + find(docs, "DaemonSet"))
    manager = one(docs, "DaemonSet", "longhorn-manager", "longhorn-system")
    assert manager["spec"]["template"]["metadata"]["labels"]["app"] == "longhorn-manager"
    for name in ("longhorn-driver-deployer", "longhorn-ui", "csi-attacher", "csi-provisioner",
                 "csi-resizer", "csi-snapshotter"):
        one(docs, "Deployment", name, "longhorn-system")
    deployer = one(docs, "Deployment", "longhorn-driver-deployer")
    env = {e["name"]: e.get("value") for e in
           deployer["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["KUBELET_ROOT_DIR"] == MICROK8S_KUBELET
    plugin = one(docs, "DaemonSet", "longhorn-csi-plugin", "longhorn-system")
    container = plugin["spec"]["template"]["spec"]["containers"][0]
    assert ("--kubelet-registration-path=%s/plugins/driver.longhorn.io/csi.sock" % MICROK8S_KUBELET
            in container["args"])
    assert {"name": "KUBELET_ROOT_DIR", "value": MICROK8S_KUBELET} in container["env"]
    assert all(v["hostPath"]["path"].startswith(MICROK8S_KUBELET)
               for v in plugin["spec"]["template"]["spec"]["volumes"])
    frontend = one(docs, "Service", "longhorn-frontend", "longhorn-system")
    assert frontend["spec"]["type"] == "ClusterIP"
    assert frontend["spec"]["ports"][0]["port"] == 80
    assert frontend["spec"]["selector"] == {"app": "longhorn-ui"}
    for svc in find(docs, "Service"):
        assert svc["spec"]["type"] != "LoadBalancer"
    # without the value: Longhorn's default, no KUBELET_ROOT_DIR in the deployer
    default = render(LONGHORN, namespace="longhorn-system")
    deployer = one(default, "Deployment", "longhorn-driver-deployer")
    assert "KUBELET_ROOT_DIR" not in {
        e["name"] for e in deployer["spec"]["template"]["spec"]["containers"][0]["env"]}
    plugin = one(default, "DaemonSet", "longhorn-csi-plugin")
    assert ("--kubelet-registration-path=/var/lib/kubelet/plugins/driver.longhorn.io/csi.sock"
            in plugin["spec"]["template"]["spec"]["containers"][0]["args"])


def test_longhorn_settings():
    docs = longhorn_render()
    settings = {s["metadata"]["name"]: s for s in find(docs, "Setting")}
    for s in settings.values():
        assert s["apiVersion"] == "longhorn.io/v1beta2"
        assert s["metadata"]["namespace"] == "longhorn-system"
    assert {k: v["value"] for k, v in settings.items()}.items() >= {
        "storage-over-provisioning-percentage": "100",
        "storage-minimal-available-percentage": "25",
        "deleting-confirmation-flag": "false",
        "default-data-path": "/var/lib/longhorn/",
        "allow-recurring-job-while-volume-detached": "false",
        "recurring-job-max-retention": "100",
    }.items()
    changed = longhorn_render("--set", "defaultSettings.storageOverProvisioningPercentage=1000",
                              "--set", "defaultSettings.deletingConfirmationFlag=true",
                              "--set", "defaultSettings.recurringJobMaxRetention=50")
    values = {s["metadata"]["name"]: s["value"] for s in find(changed, "Setting")}
    assert values["storage-over-provisioning-percentage"] == "1000"
    assert values["deleting-confirmation-flag"] == "true"
    assert values["recurring-job-max-retention"] == "50"


def test_longhorn_nodes_from_lab_nodes():
    docs = longhorn_render()
    nodes = {n["metadata"]["name"]: n for n in find(docs, "Node")}
    assert set(nodes) == {"lab-node-1", "lab-node-2"}
    assert nodes["lab-node-1"]["apiVersion"] == "longhorn.io/v1beta2"
    assert nodes["lab-node-1"]["spec"]["allowScheduling"] is True
    assert list(nodes["lab-node-1"]["spec"]["disks"]) == ["default-disk-lab"]
    disk = nodes["lab-node-2"]["spec"]["disks"]["default-disk-4a3b2c1d"]
    assert disk["path"] == "/var/lib/longhorn/" and disk["allowScheduling"] is True
    assert disk["tags"] == []
    assert not find(render(LONGHORN, namespace="longhorn-system"), "Node")


def test_longhorn_uninstall_needs_deleting_confirmation_flag():
    docs = longhorn_render()
    job = one(docs, "Job", "longhorn-uninstall", "longhorn-system")
    assert hook(job) == "pre-delete"
    policy = one(docs, "ValidatingAdmissionPolicy", "longhorn-lab-deleting-confirmation-longhorn-system")
    assert policy["spec"]["paramKind"] == {"apiVersion": "longhorn.io/v1beta2", "kind": "Setting"}
    assert "longhorn-uninstall" in policy["spec"]["matchConditions"][0]["expression"]
    binding = one(docs, "ValidatingAdmissionPolicyBinding",
                  "longhorn-lab-deleting-confirmation-longhorn-system")
    assert binding["spec"]["paramRef"]["name"] == "deleting-confirmation-flag"
    assert binding["spec"]["paramRef"]["namespace"] == "longhorn-system"
    assert binding["spec"]["validationActions"] == ["Deny"]
    off = longhorn_render("--set", "lab.enforceDeletingConfirmationFlag=false")
    assert not find(off, "ValidatingAdmissionPolicy", "longhorn-lab-deleting-confirmation-longhorn-system")


# ---------------------------------------------------------------------------------------------
# gpu-operator
# ---------------------------------------------------------------------------------------------
def microk8s_values(driver):
    """What `microk8s enable nvidia` feeds helm on stdin (flags as strings, as MicroK8s does)."""
    return {
        "operator": {"defaultRuntime": "containerd"},
        "driver": {"enabled": "true" if driver == "operator" else "false"},
        "toolkit": {"enabled": "true", "env": [
            {"name": "CONTAINERD_CONFIG", "value": "/var/snap/microk8s/current/args/containerd-template.toml"},
            {"name": "CONTAINERD_SOCKET", "value": "/var/snap/microk8s/common/run/containerd.sock"},
            {"name": "CONTAINERD_SET_AS_DEFAULT", "value": "1"},
        ]},
    }


def gpu_render(values, *extra, tmp_path):
    path = tmp_path / "values.json"
    path.write_text(json.dumps(values))
    return render(GPU, "-f", str(path), *extra, release="gpu-operator",
                  namespace="gpu-operator-resources")


def test_gpu_operator_as_microk8s_and_kaapana_install_it(tmp_path):
    chart = yaml.safe_load(open(os.path.join(GPU, "Chart.yaml")))
    assert (chart["name"], chart["version"], chart["appVersion"]) == (
        "gpu-operator", "v25.10.0", "v25.10.0")
    # kaapanactl.sh: microk8s enable nvidia --gpu-operator-driver host --gpu-operator-version
    # v25.10.0 --gpu-operator-set toolkit.env[3].name=RUNTIME_CONFIG_SOURCE --gpu-operator-set
    # toolkit.env[3].value='file=/var/snap/microk8s/current/args/containerd.toml'
    docs = gpu_render(microk8s_values("host"),
                      "--set", "toolkit.env[3].name=RUNTIME_CONFIG_SOURCE",
                      "--set", "toolkit.env[3].value=file=/var/snap/microk8s/current/args/containerd.toml",
                      tmp_path=tmp_path)
    ns = "gpu-operator-resources"
    assert all(d["metadata"]["namespace"] == ns
               for d in find(docs, "Deployment") + find(docs, "DaemonSet") + find(docs, "ConfigMap"))
    operator = one(docs, "Deployment", "gpu-operator", ns)
    assert operator["spec"]["template"]["metadata"]["labels"]["app"] == "gpu-operator"
    validator = one(docs, "DaemonSet", "nvidia-operator-validator", ns)
    assert validator["spec"]["template"]["metadata"]["labels"]["app"] == "nvidia-operator-validator"
    assert validator["spec"]["template"]["spec"]["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    one(docs, "DaemonSet", "nvidia-device-plugin-daemonset", ns)
    assert not find(docs, "DaemonSet", "nvidia-driver-daemonset")  # host driver
    toolkit = one(docs, "DaemonSet", "nvidia-container-toolkit-daemonset", ns)
    env = toolkit["spec"]["template"]["spec"]["containers"][0]["env"]
    assert [e["name"] for e in env] == ["ROOT", "CONTAINERD_CONFIG", "CONTAINERD_SOCKET",
                                        "CONTAINERD_SET_AS_DEFAULT", "RUNTIME_CONFIG_SOURCE"]
    cm = one(docs, "ConfigMap", "gpu-operator-values", ns)
    data = cm["data"]
    assert data["driver.enabled"] == "false" and data["toolkit.enabled"] == "true"
    assert data["operator.defaultRuntime"] == "containerd"
    assert data["kube.version"] == "v" + KUBE_VERSION
    recorded = json.loads(data["values.json"])
    assert recorded["driver"]["enabled"] == "false"
    assert recorded["toolkit"]["env"][3] == {
        "name": "RUNTIME_CONFIG_SOURCE",
        "value": "file=/var/snap/microk8s/current/args/containerd.toml"}
    assert json.loads(data["toolkit.env.json"])[2] == {"name": "CONTAINERD_SET_AS_DEFAULT", "value": "1"}
    policy = one(docs, "ClusterPolicy", "cluster-policy")
    assert policy["spec"]["driver"]["enabled"] is False
    assert policy["spec"]["toolkit"]["enabled"] is True


def test_gpu_operator_kaapana_offline_values_and_defaults(tmp_path):
    # kaapanactl.sh install_gpu_operator (offline): JSON booleans, driver off when nvidia-smi exists
    offline = {"operator": {"defaultRuntime": "containerd"}, "driver": {"enabled": False},
               "toolkit": {"enabled": True, "env": [
                   {"name": "CONTAINERD_CONFIG", "value": "/var/snap/microk8s/current/args/containerd-template.toml"},
                   {"name": "CONTAINERD_SOCKET", "value": "/var/snap/microk8s/common/run/containerd.sock"},
                   {"name": "CONTAINERD_SET_AS_DEFAULT", "value": "1"}]}}
    docs = gpu_render(offline, tmp_path=tmp_path)
    assert not find(docs, "DaemonSet", "nvidia-driver-daemonset")
    data = one(docs, "ConfigMap", "gpu-operator-values")["data"]
    assert json.loads(data["values.json"])["driver"]["enabled"] is False
    defaults = render(GPU, release="gpu-operator", namespace="gpu-operator-resources")
    one(defaults, "DaemonSet", "nvidia-driver-daemonset")
    assert one(defaults, "ConfigMap", "gpu-operator-values")["data"]["driver.enabled"] == "true"
    everywhere = render(GPU, "--set", "lab.gpuNodeSelector=null", namespace="gpu-operator-resources")
    validator = one(everywhere, "DaemonSet", "nvidia-operator-validator")
    assert "nodeSelector" not in validator["spec"]["template"]["spec"]


# ---------------------------------------------------------------------------------------------
# migration-chart (Kaapana's utils/migration-chart/migration-chart), in every admin chart shape
# ---------------------------------------------------------------------------------------------
MIGRATION_SET = {"fast_data_dir": "/home/kaapana", "slow_data_dir": "/home/kaapana-slow",
                 "from_version": "0.5.3-lab", "to_version": "0.6.1-lab", "registry_url": "10.89.0.1:5000/kaapana",
                 "kaapana_build_version": "0.6.1-lab", "pull_policy_images": "IfNotPresent",
                 "storage_provider": "microk8s.io/hostpath", "storage_class_slow": "kaapana-hostpath-slow-data-dir",
                 "storage_class_fast": "kaapana-hostpath-fast-data-dir",
                 "storage_class_workflow": "kaapana-hostpath-fast-data-dir", "services_namespace": "services",
                 "admin_namespace": "admin", "volume_slow_data": "100Gi", "credentials_registry_username": "u",
                 "credentials_registry_password": "p"}


def migration_render(version="0.6.1-lab", **overrides):
    chart = os.path.join(STAGED[("kaapana-admin-chart", version)], "charts", "migration-chart")
    args = []
    for key, value in dict(MIGRATION_SET, **overrides).items():
        args += ["--set-string", "global.%s=%s" % (key, value)]
    return render(chart, *args, release="kaapana-migration", namespace="admin")


@pytest.mark.parametrize("version", ["0.5.3-lab", "0.6.0-lab", "0.6.1-lab"])
def test_every_admin_shape_carries_the_disabled_migration_chart(version, tmp_path):
    admin = STAGED[("kaapana-admin-chart", version)]
    deps = yaml.safe_load(open(os.path.join(admin, "Chart.yaml")))["dependencies"]
    assert {"name": "migration-chart", "version": "0.0.0", "condition": "migration-chart.enabled"} in deps
    assert yaml.safe_load(open(os.path.join(admin, "values.yaml")))["migration-chart"] == {"enabled": False}
    chart = yaml.safe_load(open(os.path.join(admin, "charts", "migration-chart", "Chart.yaml")))
    assert (chart["apiVersion"], chart["name"], chart["version"]) == ("v1", "migration-chart", "0.0.0")
    docs = render(admin, *set_args(kaapana_set_line()))
    assert not find(docs, "Job", "migration") and not find(docs, "PersistentVolume")
    helm("package", admin, "--destination", str(tmp_path))
    with tarfile.open(str(tmp_path / ("kaapana-admin-chart-%s.tgz" % version))) as tar:
        assert "kaapana-admin-chart/charts/migration-chart/templates/migration.yaml.tpl" in tar.getnames()


def test_053_shape_is_the_060_shape_stamped_053():
    chart = yaml.safe_load(open(os.path.join(STAGED[("kaapana-admin-chart", "0.5.3-lab")], "Chart.yaml")))
    assert (chart["version"], chart["appVersion"]) == ("0.5.3-lab", "0.5.3")
    for name in PHASE2:
        assert ("%s" % name, "0.5.3-lab") in STAGED
    admin = STAGED[("kaapana-admin-chart", "0.5.3-lab")]
    assert not os.path.exists(os.path.join(admin, "charts", "kaapana-storage-chart"))


def test_migration_chart_renders_kaapanas_objects():
    helm("lint", os.path.join(ADMIN_061, "charts", "migration-chart"),
         *sum((["--set-string", "global.%s=%s" % kv] for kv in MIGRATION_SET.items()), []))
    docs = migration_render()
    assert find(docs, "Namespace", "migration")
    pvs = {d["metadata"]["name"]: d["spec"] for d in find(docs, "PersistentVolume")}
    assert pvs["fast-data-dir-pv"]["hostPath"] == {"path": "/home/kaapana"}
    assert pvs["slow-data-dir-pv"]["hostPath"] == {"path": "/home/kaapana-slow"}
    assert {pv["storageClassName"] for pv in pvs.values()} == {"host-dir"}
    assert (pvs["fast-data-dir-pv"]["persistentVolumeReclaimPolicy"],
            pvs["slow-data-dir-pv"]["persistentVolumeReclaimPolicy"]) == ("Delete", "Retain")
    pvcs = {d["metadata"]["name"]: d for d in find(docs, "PersistentVolumeClaim", namespace="migration")}
    assert pvcs["fast-data-dir-pvc"]["spec"]["volumeName"] == "fast-data-dir-pv"
    assert pvcs["slow-data-dir-pvc"]["spec"]["volumeName"] == "slow-data-dir-pv"
    assert find(docs, "ServiceAccount", "kaapana-kube-admin", "migration")
    assert find(docs, "Secret", "registry-secret", "migration")[0]["type"] == "kubernetes.io/dockerconfigjson"
    job = find(docs, "Job", "migration", "migration")[0]
    assert job["spec"]["backoffLimit"] == 0
    pod = job["spec"]["template"]
    assert pod["metadata"]["annotations"] == {"kaapana.lab/host-job": "true"}
    assert pod["spec"]["serviceAccountName"] == "kaapana-kube-admin"
    assert pod["spec"]["imagePullSecrets"] == [{"name": "registry-secret"}]
    assert "nodeSelector" not in pod["spec"]
    container = pod["spec"]["containers"][0]
    assert container["image"] == "10.89.0.1:5000/kaapana/migration:0.6.1-lab"
    assert container["command"][:2] == ["/bin/sh", "-c"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env == {"FAST_DATA_DIR": "/home/kaapana", "SLOW_DATA_DIR": "/home/kaapana-slow", "FROM_VERSION": "0.5.3-lab",
                   "TO_VERSION": "0.6.1-lab", "STORAGE_PROVIDER": "microk8s.io/hostpath",
                   "STORAGE_CLASS_SLOW": "kaapana-hostpath-slow-data-dir",
                   "STORAGE_CLASS_FAST": "kaapana-hostpath-fast-data-dir",
                   "STORAGE_CLASS_WORKFLOW": "kaapana-hostpath-fast-data-dir", "SERVICES_NAMESPACE": "services",
                   "ADMIN_NAMESPACE": "admin", "VOLUME_SLOW_DATA": "100Gi",
                   "MIGRATION_IMAGE": "10.89.0.1:5000/kaapana/migration:0.6.1-lab"}
    assert {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["spec"]["volumes"]} == {
        "fastdir": "fast-data-dir-pvc", "slowdir": "slow-data-dir-pvc"}
    # one data dir: one mount, as Kaapana's
    same = find(migration_render(slow_data_dir="/home/kaapana"), "Job", "migration")[0]["spec"]["template"]["spec"]
    assert [v["name"] for v in same["volumes"]] == ["fastdir"]


def run_migration(tmp_path, from_version, to_version, extensions=()):
    script = find(migration_render(), "Job", "migration")[0]["spec"]["template"]["spec"]["containers"][0]["command"][2]
    fast, slow = tmp_path / "fast", tmp_path / "slow"
    (fast / "postgres").mkdir(parents=True)
    slow.mkdir()
    (fast / "postgres" / "PG_VERSION").write_text("15\n")
    (fast / "version").write_text("before")
    for name in extensions:
        (fast / "extensions").mkdir(exist_ok=True)
        (fast / "extensions" / name).write_text("")
    env = {"PATH": os.environ["PATH"], "FAST_DATA_DIR": str(fast), "SLOW_DATA_DIR": str(slow),
           "FROM_VERSION": from_version, "TO_VERSION": to_version}
    proc = subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True, timeout=30, check=False)
    log = fast / "migration.log"
    return (proc.returncode, proc.stdout + proc.stderr, (fast / "version").read_text(),
            (fast / "postgres" / "PG_VERSION").read_text(), log.read_text() if log.exists() else None)


def test_migration_script_a_minor_step_changes_the_data(tmp_path):
    rc, out, version, pg, log = run_migration(tmp_path, "0.5.3-lab", "0.6.1-lab")
    assert rc == 0, out
    assert (version, pg, log) == ("0.6", "15\nkaapana-schema 0.6\n", "migration-0.5.x-0.6.x done\n")
    assert "Running migration script: /kaapana/app/migration-0.5.x-0.6.x.sh" in out


def test_migration_script_chains_minor_steps(tmp_path):
    rc, out, version, pg, log = run_migration(tmp_path, "0.3.0", "0.6.1")
    assert rc == 0, out
    assert version == "0.6"
    assert pg == "15\nkaapana-schema 0.4\nkaapana-schema 0.5\nkaapana-schema 0.6\n"
    assert log.splitlines() == ["migration-0.3.x-0.4.x done", "migration-0.4.x-0.5.x done",
                                "migration-0.5.x-0.6.x done"]


@pytest.mark.parametrize("versions", [("0.6.0-lab", "0.6.1-lab"), ("0.6.1", "0.5.3")])
def test_migration_script_same_minor_changes_nothing(tmp_path, versions):
    rc, out, version, pg, log = run_migration(tmp_path, *versions)
    assert rc == 0, out
    assert (version, pg, log) == ("before", "15\n", None)


@pytest.mark.parametrize("versions, message", [
    (("0.6.0", "1.0.0"), "Major version migration not supported yet"),
    (("0.6", "0.6.1"), "ValueError: not enough values to unpack (expected 3, got 2)"),
    (("0.6.0", "0.7.0"), "No migration script found: /kaapana/app/migration-0.6.x-0.7.x.sh"),
    (("autodetect", "0.6.1"), "No kaapana-platform-chart-*.tgz found in"),
])
def test_migration_script_refuses_as_kaapana(tmp_path, versions, message):
    rc, out, version, pg, log = run_migration(tmp_path, *versions)
    assert rc == 1 and message in out, out
    assert (version, pg, log) == ("before", "15\n", None)


def test_migration_script_fresh_and_autodetect(tmp_path):
    rc, out, version, pg, log = run_migration(tmp_path / "a", "fresh", "0.6.1-lab")
    assert (rc, version, pg, log) == (0, "0.6.1-lab", "15\n", None), out
    rc, out, version, pg, log = run_migration(tmp_path / "b", "autodetect", "0.6.1-lab",
                                              extensions=["kaapana-platform-chart-0.5.3-lab.tgz"])
    assert (rc, version, log) == (0, "0.6", "migration-0.5.x-0.6.x done\n"), out
    assert "Detected platform version: 0.5.3-lab" in out


def test_version_file_writer_is_a_host_job_that_writes_the_version(tmp_path):
    job = find(render(ADMIN_061, *set_args(kaapana_set_line())), "Job", "version-file-writer")[0]
    pod = job["spec"]["template"]
    assert pod["metadata"]["annotations"]["kaapana.lab/host-job"] == "true"
    assert "nodeSelector" not in pod["spec"]
    assert pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] == {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "kaapana.io/lab-pool", "operator": "DoesNotExist"}]}]}
    container = pod["spec"]["containers"][0]
    assert container["command"][:2] == ["/bin/sh", "-c"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["PLATFORM_VERSION"] == "0.6.1-lab"
    script = container["command"][2].replace("/home/kaapana", str(tmp_path / "fast"))
    env["VERSION_FILE"] = env["VERSION_FILE"].replace("/home/kaapana", str(tmp_path / "fast"))
    subprocess.run(["/bin/sh", "-c", script], env=dict(env, PATH=os.environ["PATH"]), check=True, capture_output=True)
    assert (tmp_path / "fast" / "version").read_text() == "0.6.1-lab\n"
