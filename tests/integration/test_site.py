"""site.yml end to end on three lab nodes: deploy at -vvvv with process snapshots taken while Helm runs,
idempotent re-run, the chart values Kaapana's --set line would give, no secret in any output, process list or
file, undeploy that keeps the data, redeploy, a MicroK8s upgrade (1.33 -> 1.35 planned in check mode, 1.33 -> 1.34 run
one node at a time, stopped at a node that fails and resumed; its pause and resume of the platform count as a
deploy/undeploy cycle), and
three deploy/undeploy cycles with byte-identical data (test_upgrade adds two more around its backup and restore)."""
import base64
import datetime
import hashlib
import io
import json
import os
import re
import shlex
import subprocess
import tarfile
import threading
import time

import pytest

from tests.integration.nodes import (assert_rejected, changed_tasks, data_digest, fingerprint, helm_releases,
                                     lab_platform_vars, node_containers, node_exec, node_name, podman, recap,
                                     run_playbook, shaped_lab, write_inventory)
from lab import nodes as lab_nodes

pytestmark = [pytest.mark.lab, pytest.mark.slow]

NODES = ["site-main", "site-worker-1", "site-worker-2"]
# FQDN-named servers, as in many hospitals: the host names are NAME.lab.internal, so MicroK8s names the Nodes by the
# FQDN while Ansible's `hostname` fact is the short name.
NODE_DOMAIN = "lab.internal"
NODE_NAMES = [node_name(n, NODE_DOMAIN) for n in NODES]
# A slow first start: snapd seeds for a while after its first start, MicroK8s' cluster agent enables dns well after
# `status --wait-ready` returns, and each Node turns Ready a while after it registered (all refuse or race what a
# role does too early).
NODE_TIMING = {"LAB_SNAPD_SEED_SECONDS": "10", "LAB_MICROK8S_ADDON_DELAY": "30", "LAB_NODE_READY_DELAY": "20"}
PLATFORM_NAMESPACES = ["admin", "services", "extensions", "project-admin"]
DOMAIN = "kaapana.site.lab.internal"


# What admins run today: the helm snap's 4/stable (Helm 4) and a platform shaped like Kaapana 0.6.1 (storage classes
# from the separate kaapana-storageclass release). test_site_instances covers Helm 3 and the 0.6.0 shape.
SHAPE = {"helm_major": 4, "version": "0.6.1-lab"}


def _group_vars(lab):
    return lab_platform_vars(
        lab, kaapana_platform_version=SHAPE["version"], kaapana_helm_snap_channel="%d/stable" % SHAPE["helm_major"],
        kaapana_domain=DOMAIN, kaapana_keycloak_admin_password="Site-Keycloak-1!",
        kaapana_credentials_minio_password="Site-Minio-2!", kaapana_grafana_password="Site-Grafana-3!",
        kaapana_platform_wait_settle=5, kaapana_platform_wait_progress_interval=3,
        # an IPv6 upstream with a port: MicroK8s' `enable dns:ARGS` cannot take it, CoreDNS' forward line can
        kaapana_microk8s_dns_servers=[lab.cfg.gateway, "[2001:db8::53]:53"])


def _secrets(lab):
    """Every password the deploy handles, and the registry credentials as helm and docker encode them."""
    pw = lab.registry_password()
    return [pw, "Site-Keycloak-1!", "Site-Minio-2!", "Site-Grafana-3!",
            base64.b64encode(("%s:%s" % (lab.registry_user, pw)).encode()).decode()]


class ProcessSnapshots(threading.Thread):
    """`ps -eo args` on the controller and on every node, every 0.2 s, while a playbook runs."""

    def __init__(self, lab, nodes):
        super().__init__(daemon=True)
        self.lab, self.nodes = lab, nodes
        self.snapshots = []
        self.stopped = threading.Event()

    def run(self):
        env = lab_nodes.podman_env(self.lab.cfg)
        while not self.stopped.is_set():
            self.snapshots.append(subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True,
                                                 check=False).stdout)
            for node in self.nodes:
                self.snapshots.append(subprocess.run(["podman", "exec", node, "ps", "-eo", "args"], env=env,
                                                     capture_output=True, text=True, check=False).stdout)
            time.sleep(0.2)

    def stop(self):
        self.stopped.set()
        self.join(timeout=30)


def _pods(lab, namespace):
    out = lab.kubectl_run("-n", namespace, "get", "pods", "-o", "json", check=False)
    return json.loads(out.stdout)["items"] if out.returncode == 0 else []


def _recorded_values(lab):
    cm = json.loads(lab.kubectl_run("-n", "default", "get", "configmap", "kaapana-admin-chart-values", "-o",
                                    "json").stdout)
    return json.loads(cm["data"]["values.json"])


def _sha(text):
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


FOREIGN = "foreign-app"
FOREIGN_CHART = {
    "Chart.yaml": "apiVersion: v2\nname: foreign-app\nversion: 1.0.0\n",
    # Someone else's application in the Helm namespace Kaapana uses (default): a PVC, a pod and a hook Job that
    # Helm leaves behind, none of them Kaapana's.
    "templates/app.yaml": """apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: foreign-data
  annotations:
    helm.sh/resource-policy: keep
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: foreign-app
  labels:
    app.kubernetes.io/instance: {{ .Release.Name }}
spec:
  replicas: 1
  selector:
    matchLabels: {app: foreign-app}
  template:
    metadata:
      labels: {app: foreign-app}
    spec:
      containers:
        - name: app
          image: registry.lab.invalid/foreign-app:1
---
apiVersion: batch/v1
kind: Job
metadata:
  name: foreign-app-migrate
  labels:
    app.kubernetes.io/instance: {{ .Release.Name }}
  annotations:
    helm.sh/hook: post-install
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: registry.lab.invalid/foreign-app:1
""",
}


def _foreign_state(lab):
    """The foreign release's revision and status, and the uids of its PVC, pods (not terminating) and hook Job."""
    releases = [(r["name"], r["status"], r["revision"])
                for r in helm_releases(lab, "-n", "default", "--filter", "^%s$" % FOREIGN, check=False)]

    def uids(*args):
        res = lab.kubectl_run("-n", "default", "get", *args, "-o", "json", check=False)
        items = json.loads(res.stdout)["items"] if res.returncode == 0 else []
        return sorted(i["metadata"]["uid"] for i in items if not i["metadata"].get("deletionTimestamp"))
    return {"release": releases, "pvc": uids("pvc", "--field-selector", "metadata.name=foreign-data"),
            "pods": uids("pods", "-l", "app=foreign-app"),
            "job": uids("job", "--field-selector", "metadata.name=foreign-app-migrate")}


def _install_foreign_release(lab, tmp):
    chart = tmp / "foreign-app"
    for name, text in FOREIGN_CHART.items():
        (chart / name).parent.mkdir(parents=True, exist_ok=True)
        (chart / name).write_text(text)
    subprocess.run([lab.helm, "--kubeconfig", lab.kubeconfig, "-n", "default", "upgrade", "--install", FOREIGN,
                    str(chart), "--timeout", "2m"], capture_output=True, text=True, check=True)
    deadline = time.time() + 120
    while not _foreign_state(lab)["pods"] and time.time() < deadline:
        time.sleep(1)


lab = shaped_lab(SHAPE)


@pytest.fixture(scope="module")
def site(lab, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("site")
    with node_containers(lab, NODES, domain=NODE_DOMAIN, timing=NODE_TIMING) as names:
        inv = write_inventory(tmp / "hosts.yml", names[:1], names[1:], group_vars=_group_vars(lab))
        _install_foreign_release(lab, tmp)
        # Kaapana's TLS Secrets outlive an undeploy (its remove-secret hook deletes nothing) and the lab's API outlives
        # a module: cert-init must start from none, as on a new cluster.
        _delete_tls_secrets(lab)
        # a run of this module that stopped while the platform was paused for a MicroK8s upgrade left its note
        lab.kubectl_run("-n", "default", "delete", "configmap", "kaapana-platform-paused", "--ignore-not-found")
        try:
            yield {"inventory": inv, "tmp": tmp, "foreign": _foreign_state(lab)}
            # purge (both variables): the PVCs, bound to these nodes, must not outlive them
            run_playbook(lab, "playbooks/undeploy.yml", inv,
                         extra_vars={"kaapana_purge_data": True, "kaapana_purge_confirm": DOMAIN})
        finally:
            _delete_tls_secrets(lab)
            subprocess.run([lab.helm, "--kubeconfig", lab.kubeconfig, "-n", "default", "uninstall", FOREIGN],
                           capture_output=True, check=False)
            lab.kubectl_run("-n", "default", "delete", "pvc", "foreign-data", "--ignore-not-found", "--wait=false",
                            check=False)
            lab.kubectl_run("-n", "default", "delete", "job", "foreign-app-migrate", "--ignore-not-found", check=False)


def _delete_tls_secrets(lab):
    for ns in ("admin", "services"):
        lab.kubectl_run("-n", ns, "delete", "secret", "certificate", "--ignore-not-found", check=False)


def test_site_deploys_every_pod_ready(lab, site):
    # The whole deploy at -vvvv, with process snapshots on the controller and the nodes while it runs.
    (site["tmp"] / "marker").write_text("")
    snapshots = ProcessSnapshots(lab, NODES)
    snapshots.start()
    try:
        res = run_playbook(lab, "site.yml", site["inventory"], extra_args=["-vvvv"])
    finally:
        snapshots.stop()
    site["verbose_output"] = res.stdout + res.stderr
    site["snapshots"] = snapshots.snapshots
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-2000:]
    assert "https://%s" % DOMAIN in res.stdout
    for ns in PLATFORM_NAMESPACES:
        pods = _pods(lab, ns)
        assert pods, "no pods in %s" % ns
        for pod in pods:
            done = pod["status"]["phase"] == "Succeeded" or all(
                c["ready"] for c in pod["status"].get("containerStatuses", [{"ready": False}]))
            assert done, "%s/%s is not ready" % (ns, pod["metadata"]["name"])
    nodes = json.loads(lab.kubectl_run("get", "nodes", "-o", "json").stdout)["items"]
    names = {n["metadata"]["name"]: n for n in nodes}
    assert set(NODE_NAMES) <= set(names), sorted(names)
    assert {n: names[n]["metadata"]["labels"].get("kaapana.io/node") for n in NODE_NAMES} == {
        NODE_NAMES[0]: "storage", NODE_NAMES[1]: None, NODE_NAMES[2]: None}


def _helm_releases(lab):
    return {(r["namespace"], r["name"]): r for r in helm_releases(lab, "--all-namespaces")}


def test_helm_major_and_kaapana_releases(lab, site):
    # The node's helm is the snap's pinned major; Kaapana 0.6.1's storage classes come from their own release, the
    # services from the releases kube-helm (its lab stand-in) installs after the admin chart.
    proc = node_exec(lab, NODES[0], "/snap/bin/helm", "version", "--template", "{{.Version}}")
    assert proc.stdout.startswith("v%d." % SHAPE["helm_major"]), proc.stdout + proc.stderr
    releases = _helm_releases(lab)
    expected = [("kaapana-system", "kaapana-storageclass"), ("default", "kaapana-admin-chart"),
                ("admin", "kaapana-platform-chart"), ("admin", "code-server-chart"), ("admin", "kaapana-workflows-core")]
    assert {key: releases.get(key, {}).get("status") for key in expected} == {key: "deployed" for key in expected}
    classes = json.loads(lab.kubectl_run("get", "storageclass", "-o", "json").stdout)["items"]
    owners = {c["metadata"]["name"]: c["metadata"].get("annotations", {}).get("meta.helm.sh/release-name")
              for c in classes if c["metadata"]["name"].startswith("kaapana-")}
    assert owners.get("kaapana-hostpath-fast-data-dir") == "kaapana-storageclass", owners
    # kaapanactl 0.6.1's --set-string line of the storage-class release, and nothing more.
    got = json.loads(subprocess.run([lab.helm, "--kubeconfig", lab.kubeconfig, "-n", "kaapana-system", "get", "values",
                                     "kaapana-storageclass", "-o", "json"], capture_output=True, text=True,
                                    check=True).stdout)
    assert got == {"global": {"main_node_name": NODE_NAMES[0], "replica_count": "1", "fast_data_dir": "/home/kaapana",
                              "slow_data_dir": "/home/kaapana"}}, got


def test_every_pod_with_a_kaapana_volume_runs_on_the_main_node(lab, site):
    # The real chart pins them to kaapana.io/node=storage (the main node); data must never land on a worker.
    placed = []
    for ns in PLATFORM_NAMESPACES:
        for pod in _pods(lab, ns):
            if any(v.get("persistentVolumeClaim") for v in pod["spec"].get("volumes", [])):
                placed.append((ns, pod["metadata"]["name"], pod["spec"].get("nodeName")))
    assert placed, "no pod mounts a PVC"
    assert {place[2] for place in placed} == {NODE_NAMES[0]}, placed


def test_nodes_pass_the_node_scenarios_checks(lab, site):
    # The Molecule node scenarios' verify playbook (Ready Nodes, the storage label on the main node only, workers
    # joined as workers, the addons, CoreDNS's upstream servers, Kaapana's flags and kernel settings, a private
    # kubeconfig on the main node only, held refreshes on the wanted channel) against this module's three-node
    # cluster: the same checks as `molecule test -s multinode`, without building a second cluster for them.
    res = run_playbook(lab, "molecule/shared/verify-nodes.yml", site["inventory"])
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-2000:]
    assert re.search(r"site-main\s+: ok=\d+\s+changed=0\s+unreachable=0\s+failed=0", res.stdout), res.stdout[-3000:]


def test_second_run_changes_nothing(lab, site):
    res = run_playbook(lab, "site.yml", site["inventory"])
    assert res.returncode == 0, res.stdout[-4000:]
    counts = recap(res.stdout)
    assert set(NODES) <= set(counts), counts
    assert all(c["changed"] == 0 for c in counts.values()), (counts, changed_tasks(res.stdout))


# --- day 2: certificates (playbooks/certificates.yml) ---------------------------------------------------------------
TLS_SECRET = "certificate"
# Workloads whose pods mount the Secret `certificate` in the fixtures, as in Kaapana's charts; kube-helm and
# squid-proxy do not.
TLS_CONSUMERS = {("admin", "traefik"), ("admin", "oauth2-proxy"), ("admin", "keycloak"), ("services", "minio")}
TLS_BYSTANDERS = {("admin", "kube-helm"), ("admin", "squid-proxy")}


def _tls_files(tmp, name, domain, other_key=False):
    """A hospital-style chain for domain (root -> issuing CA -> server), written as NAME.crt (server certificate,
    then the issuing CA and the root) and NAME.key (0600). other_key: write a key of no certificate (a mismatch)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def cert(cn, key, issuer_cn, issuer_key, ca, names=()):
        start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
        builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=398))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if names:
            builder = (builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
                       .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False))
        return builder.sign(issuer_key, hashes.SHA256())

    root_key, issuing_key, server_key = (ec.generate_private_key(ec.SECP256R1()) for _key in range(3))
    root = cert("Lab Hospital Root CA", root_key, "Lab Hospital Root CA", root_key, True)
    issuing = cert("Lab Hospital Issuing CA", issuing_key, "Lab Hospital Root CA", root_key, True)
    server = cert(domain, server_key, "Lab Hospital Issuing CA", issuing_key, False, [domain])
    chain = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (server, issuing, root))
    key = ec.generate_private_key(ec.SECP256R1()) if other_key else server_key
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    crt_path, key_path = tmp / ("%s.crt" % name), tmp / ("%s.key" % name)
    crt_path.write_bytes(chain)
    key_path.write_bytes(key_pem)
    os.chmod(str(key_path), 0o600)
    return {"crt": str(crt_path), "key": str(key_path), "chain": chain, "key_pem": key_pem,
            "sha256": server.fingerprint(hashes.SHA256()).hex()}


def _digest(data):
    return hashlib.sha256(data).hexdigest()


def _tls_secret(lab, namespace):
    """{key: sha256 of the value} of the TLS Secret (digests only, so that a failing assertion prints no key)."""
    res = lab.kubectl_run("-n", namespace, "get", "secret", TLS_SECRET, "-o", "json", check=False)
    if res.returncode != 0:
        return None
    data = json.loads(res.stdout)["data"]
    return {k: _digest(base64.b64decode(v)) for k, v in data.items()}


def _tls_digests(files):
    return {"tls.crt": _digest(files["chain"]), "tls.key": _digest(files["key_pem"])}


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _secret_annotations(lab, namespace):
    res = lab.kubectl_run("-n", namespace, "get", "secret", TLS_SECRET, "-o", "json")
    return json.loads(res.stdout)["metadata"].get("annotations") or {}


def _workload_pods(lab):
    """{(namespace, app): sorted pod uids} of the Deployments' and StatefulSets' pods (not terminating) in the admin
    and services namespaces (Jobs' pods left out: their TTL removes them at any time)."""
    found = {}
    for ns in ("admin", "services"):
        for pod in _pods(lab, ns):
            owners = {ref["kind"] for ref in pod["metadata"].get("ownerReferences", [])}
            if pod["metadata"].get("deletionTimestamp") or not owners & {"ReplicaSet", "StatefulSet"}:
                continue
            app = pod["metadata"].get("labels", {}).get("app.kubernetes.io/name")
            found.setdefault((ns, app), []).append(pod["metadata"]["uid"])
    return {key: sorted(uids) for key, uids in found.items()}


def _key_lines_in(files, output):
    """How many of the key's PEM lines, or the start of its base64 (as a Secret holds it), the output has."""
    lines = [line for line in files["key_pem"].decode().splitlines() if "PRIVATE KEY" not in line]
    encoded = base64.b64encode(files["key_pem"]).decode()[:40]
    return sum(1 for line in lines if line in output) + (encoded in output)


def _tls_vars(files):
    return {"kaapana_tls_certificate_file": files["crt"], "kaapana_tls_key_file": files["key"]}


@pytest.fixture(scope="module")
def tls(site):
    good = _tls_files(site["tmp"], "tls", DOMAIN)
    return {"good": good, "mismatch": _tls_files(site["tmp"], "tls-mismatch", DOMAIN, other_key=True),
            "next": _tls_files(site["tmp"], "tls-next", DOMAIN)}


def test_certificates_refuse_a_key_that_is_not_the_certificates_before_any_change(lab, site, tls):
    before = {ns: _tls_secret(lab, ns) for ns in ("admin", "services")}
    assert before["admin"] and before["services"], "cert-init/cert-copy (their lab stand-in) made no Secret"
    res = run_playbook(lab, "playbooks/certificates.yml", site["inventory"], extra_vars=_tls_vars(tls["mismatch"]))
    out = assert_rejected(res, ["cannot be installed for %s" % DOMAIN, "the key does not belong to the certificate "
                                "CN=%s" % DOMAIN, "kaapana_tls_key_file", "nothing was changed"],
                          not_reached=["Write the TLS Secret where it differs"])
    assert {ns: _tls_secret(lab, ns) for ns in ("admin", "services")} == before
    assert not _key_lines_in(tls["mismatch"], out), "key material of the refused pair in the output"


@pytest.mark.reliability('secrets', 'certificates.yml at -vvv: the TLS key is in no output line; key files 0600 on the '
                                    'node; only the workloads that mount the Secret restart')
def test_certificates_install_the_admins_certificate_and_restart_only_what_serves_it(lab, site, tls):
    good = tls["good"]
    pods_before = _workload_pods(lab)
    # cert-copy made the services copy with `kubectl apply`: the annotation holds the old key
    assert LAST_APPLIED in _secret_annotations(lab, "services")
    assert TLS_CONSUMERS | TLS_BYSTANDERS <= set(pods_before), sorted(pods_before)
    res = run_playbook(lab, "playbooks/certificates.yml", site["inventory"], extra_vars=_tls_vars(good),
                       extra_args=["-vvv"])
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-6000:]
    # The Secret in both namespaces is the admin's chain and key, byte for byte.
    for ns in ("admin", "services"):
        assert _tls_secret(lab, ns) == _tls_digests(good), ns
    assert LAST_APPLIED not in _secret_annotations(lab, "services")
    pods_after = _workload_pods(lab)
    restarted = {key for key in pods_before if pods_after.get(key) != pods_before[key]}
    assert restarted == TLS_CONSUMERS, sorted(restarted)
    # Restarted and ready: the run waited for the rollouts.
    assert not [key for key in TLS_CONSUMERS if not pods_after.get(key)], pods_after
    # The files where kaapanactl copies them (cert-init's tls volume), private.
    listing = node_exec(lab, NODES[0], "stat", "-c", "%a %U %n", "/home/kaapana/tls/tls.crt",
                        "/home/kaapana/tls/tls.key").stdout.split("\n")
    assert [line.split()[:2] for line in listing if line] == [["600", "root"], ["600", "root"]], listing
    assert _digest(node_exec(lab, NODES[0], "cat", "/home/kaapana/tls/tls.key").stdout.encode()) == \
        _digest(good["key_pem"])
    # No key material in any line of the -vvv output (PEM lines and the base64 of the whole key).
    assert not _key_lines_in(good, out), "key material in the -vvv output"
    assert "expires on" in out and good["sha256"] in out, out[-3000:]
    assert re.search(r"MicroK8s certificates on site-main: ca\.crt expires \S+ \(\d+ days\); server\.crt expires "
                     r"\S+ \((36[45]) days\); front-proxy-client\.crt expires", out), out[-3000:]


def test_certificates_second_run_and_check_mode_change_nothing(lab, site, tls):
    res = run_playbook(lab, "playbooks/certificates.yml", site["inventory"], extra_vars=_tls_vars(tls["good"]))
    assert res.returncode == 0, res.stdout[-4000:]
    assert all(c["changed"] == 0 for c in recap(res.stdout).values()), changed_tasks(res.stdout)
    # Check mode with another certificate: it says what would change, and changes nothing.
    secret, pods = _tls_secret(lab, "admin"), _workload_pods(lab)
    res = run_playbook(lab, "playbooks/certificates.yml", site["inventory"], extra_vars=_tls_vars(tls["next"]),
                       extra_args=["--check"])
    assert res.returncode == 0, res.stdout[-4000:]
    assert "Write the TLS Secret where it differs" in "\n".join(changed_tasks(res.stdout)), res.stdout[-4000:]
    assert _tls_secret(lab, "admin") == secret and _workload_pods(lab) == pods


def _server_cert_sha(lab, node):
    return fingerprint(lab, node, ["/var/snap/microk8s/current/certs/server.crt",
                                   "/var/snap/microk8s/current/certs/ca.crt"])


def test_microk8s_certificates_are_renewed_on_request_and_a_ca_renewal_is_refused(lab, site, tls):
    res = run_playbook(lab, "playbooks/certificates.yml", site["inventory"],
                       extra_vars={"kaapana_microk8s_certs_refresh": ["ca.crt"]})
    assert_rejected(res, ["kaapana_microk8s_certs_refresh", "ca.crt"],
                    not_reached=["Install the TLS certificate when one is given"])
    before = {node: _server_cert_sha(lab, node) for node in NODES}
    res = run_playbook(lab, "playbooks/certificates.yml", site["inventory"],
                       extra_vars={"kaapana_microk8s_certs_refresh": ["server.crt"]})
    assert res.returncode == 0, res.stdout[-4000:]
    after = {node: _server_cert_sha(lab, node) for node in NODES}
    server, ca = "/var/snap/microk8s/current/certs/server.crt", "/var/snap/microk8s/current/certs/ca.crt"
    assert after[NODES[0]][server] != before[NODES[0]][server]
    assert after[NODES[0]][ca] == before[NODES[0]][ca]
    assert {node: after[node] for node in NODES[1:]} == {node: before[node] for node in NODES[1:]}
    assert recap(res.stdout)["site-main"]["changed"] == 1, changed_tasks(res.stdout)
    nodes = json.loads(lab.kubectl_run("get", "nodes", "-o", "json").stdout)["items"]
    ready = {n["metadata"]["name"]: [c["status"] for c in n["status"]["conditions"] if c["type"] == "Ready"]
             for n in nodes}
    assert all(ready[name] == ["True"] for name in NODE_NAMES), ready


STALE_IMAGE = "registry.lab.invalid/stale:1"
PAUSE_IMAGE = "registry.k8s.io/pause:3.10"  # containerd's sandbox_image in MicroK8s 1.33 (and the stand-in's template)
_SIZE_UNITS = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3, "TiB": 1024 ** 4}


def _stale_image_tar(path):
    """An OCI image layout naming STALE_IMAGE, with a 0.75 MiB blob: ctr lists it at 1.5 MiB (descriptor size + blob)."""
    blob = b"\0" * (768 * 1024)
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    index = {"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": len(blob),
        "platform": {"os": "linux", "architecture": "amd64"},
        "annotations": {"io.containerd.image.name": STALE_IMAGE}}]}
    with tarfile.open(path, "w") as tar:
        for name, data in (("index.json", json.dumps(index).encode()), ("blobs/sha256/" + digest[7:], blob)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _ctr_images(lab, node):
    """{ref: (digest, bytes)} of a node's `microk8s ctr images ls` (SIZE as ctr prints it, one decimal)."""
    rows = node_exec(lab, node, "/snap/bin/microk8s", "ctr", "images", "ls").stdout.splitlines()[1:]
    images = {}
    for row in rows:
        cells = row.split()
        images[cells[0]] = (cells[2], int(round(float(cells[3]) * _SIZE_UNITS[cells[4]])))
    return images


def _docker_ref(ref):
    """docker's normalisation, as CRI stores a pod's image (docker.io/library/, :latest)."""
    if re.match(r"^sha256:[0-9a-f]{64}$", ref):
        return ref
    name, at, digest = ref.partition("@")
    first = name.split("/")[0]
    if "/" not in name:
        name = "docker.io/library/" + name
    elif "." not in first and ":" not in first and first != "localhost":
        name = "docker.io/" + name
    if ":" not in name.rsplit("/", 1)[-1] and not digest:
        name += ":latest"
    return name + at + digest


def _live_pod_images(lab):
    """{node container: {normalised ref}} of the pods bound to each node that have not finished."""
    pods = json.loads(lab.kubectl_run("get", "pods", "--all-namespaces", "-o", "json").stdout)["items"]
    used = {node: set() for node in NODES}
    for pod in pods:
        node = dict(zip(NODE_NAMES, NODES)).get(pod["spec"].get("nodeName"))
        if node is None or pod["status"].get("phase") in ("Succeeded", "Failed"):
            continue
        for key in ("initContainers", "containers", "ephemeralContainers"):
            used[node].update(_docker_ref(c["image"]) for c in pod["spec"].get(key) or [])
        for key in ("initContainerStatuses", "containerStatuses"):
            used[node].update(_docker_ref(c["imageID"]) for c in pod["status"].get(key) or [] if c.get("imageID"))
    return used


def _prune_reports(output):
    """{node: (refs removed, bytes freed)} from prune_images.yml's per-node report (YAML may fold its lines)."""
    found = re.findall(r"(site-[\w-]+): (?:would\s+remove|removed)\s+(\d+)\s+of\s+\d+\s+image\s+refs,\s+"
                       r"(?:to\s+free|freed)\s+(\d+)\s+bytes", output)
    return {node: (int(count), int(freed)) for node, count, freed in found}


def test_prune_images_removes_only_what_no_live_pod_uses(lab, site, tmp_path):
    # The kube-helm stand-in recorded the kubelet's pulls of every pod the deploy started (and the pause image); a
    # stale image, as an old platform version leaves behind, is imported on one worker.
    stale = _stale_image_tar(tmp_path / "stale.tar")
    podman(lab, "cp", str(stale), "%s:/tmp/stale.tar" % NODES[1])
    node_exec(lab, NODES[1], "/snap/bin/microk8s", "ctr", "images", "import", "/tmp/stale.tar")
    node_exec(lab, NODES[1], "rm", "-f", "/tmp/stale.tar")

    def stores():
        return {node: node_exec(lab, node, "/snap/bin/microk8s", "ctr", "images", "ls", "-q").stdout for node in NODES}

    before = stores()
    assert STALE_IMAGE in before[NODES[1]].split() and all(PAUSE_IMAGE in before[n].split() for n in NODES), before
    # A keep pattern that is no regular expression: refused, naming the variable and the entry, before any change.
    res = run_playbook(lab, "playbooks/prune_images.yml", site["inventory"],
                       extra_vars={"kaapana_prune_images_keep": ["^docker\\.io/", "stale(["]})
    assert_rejected(res, ["kaapana_prune_images_keep[1]", "stale(["],
                    not_reached=["List the node's containerd images", "Remove the images no running pod uses"])
    assert stores() == before
    # Check mode: reports the stale image and the space, removes nothing.
    res = run_playbook(lab, "playbooks/prune_images.yml", site["inventory"], extra_args=["--check"])
    assert res.returncode == 0, res.stdout[-4000:]
    assert STALE_IMAGE in res.stdout and "would remove" in res.stdout, res.stdout[-4000:]
    checked = _prune_reports(res.stdout)
    assert set(checked) == set(NODES) and checked[NODES[1]][1] >= 1572864, res.stdout[-4000:]
    assert all(c["changed"] == 0 for c in recap(res.stdout).values()), changed_tasks(res.stdout)
    assert stores() == before
    # The real run removes what check mode announced.
    images = {node: _ctr_images(lab, node) for node in NODES}
    res = run_playbook(lab, "playbooks/prune_images.yml", site["inventory"])
    assert res.returncode == 0, res.stdout[-4000:]
    reports = _prune_reports(res.stdout)
    assert reports == checked, (reports, checked)
    after = {node: set(refs.split()) for node, refs in stores().items()}
    used = _live_pod_images(lab)
    for node in NODES:
        listed = images[node]
        kept_digests = {digest for ref, (digest, _size) in listed.items()
                        if _docker_ref(ref) in used[node] or ref == PAUSE_IMAGE or ref in used[node]}
        expected = {ref for ref, (digest, _size) in listed.items() if digest in kept_digests}
        assert after[node] & set(listed) == expected, (node, sorted(after[node] ^ expected))
        assert PAUSE_IMAGE in after[node]
        assert {ref for ref in used[node] if ref in listed} <= after[node], node
        removed = set(listed) - after[node]
        freed = sum(dict((listed[ref][0], listed[ref][1]) for ref in removed).values())
        assert reports[node] == (len(removed), freed), (node, reports[node], sorted(removed))
    assert STALE_IMAGE not in after[NODES[1]]
    # Nothing is left to remove: a second run changes nothing.
    res = run_playbook(lab, "playbooks/prune_images.yml", site["inventory"])
    assert res.returncode == 0, res.stdout[-4000:]
    assert all(c["changed"] == 0 for c in recap(res.stdout).values()), changed_tasks(res.stdout)
    assert _prune_reports(res.stdout) == {node: (0, 0) for node in NODES}, res.stdout[-4000:]
    assert res.stdout.count("nothing to remove") == len(NODES), res.stdout[-4000:]


def test_changed_args_restart_microk8s_on_the_workers_too(lab, site):
    # A kubelet flag changed on a running cluster: each node's services must restart to read it, and a joined worker
    # ignores `microk8s stop/start` (it only prints "use 'snap stop microk8s'"). The microk8s stand-in keeps a copy of
    # the args files as its services last started with them.
    res = run_playbook(lab, "playbooks/prepare_nodes.yml", site["inventory"],
                       extra_vars={"kaapana_microk8s_args_extra": {"kubelet": {"--event-qps": "7"}}})
    assert res.returncode == 0, res.stdout[-4000:]
    running = {node: node_exec(lab, node, "cat", "/var/snap/microk8s/current/var/kaapana-lab-running-args/kubelet")
               .stdout.splitlines() for node in NODES}
    assert {node: "--event-qps=7" in lines for node, lines in running.items()} == {node: True for node in NODES}


def test_another_microk8s_channel_is_refused_before_any_change(lab, site):
    # An installed MicroK8s is never refreshed implicitly (it would restart Kubernetes under the platform).
    res = run_playbook(lab, "site.yml", site["inventory"], extra_vars={"kaapana_microk8s_channel": "1.34/stable"})
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    assert ("MicroK8s on site-main tracks 1.33/stable, but kaapana_microk8s_channel is 1.34/stable" in out
            and "kaapana_microk8s_refresh: true" in out), out[-3000:]
    assert all(c["changed"] == 0 for c in recap(res.stdout).values()), changed_tasks(res.stdout)
    listed = node_exec(lab, NODES[1], "snap", "list", "microk8s").stdout.splitlines()[1].split()
    assert listed[3] == "1.33/stable", listed


def test_a_node_name_matching_no_node_fails_naming_the_host_and_the_name(lab, site):
    # The main node set to its short name (the `hostname` fact, the default before): MicroK8s named its Node by the
    # FQDN, so the cluster role must fail at once naming the host, the name it looked for and the Nodes there are,
    # not wait out the Ready timeout and warn past the storage label.
    inv = write_inventory(site["tmp"] / "short-name.yml", NODES[:1], NODES[1:], group_vars=_group_vars(lab),
                          host_vars={NODES[0]: {"kaapana_node_name": NODES[0]}})
    playbook = site["tmp"] / "cluster.yml"
    playbook.write_text("- name: Join the cluster\n  hosts: kaapana_main:kaapana_workers\n"
                        "  roles: [kaapana.platform.cluster]\n")
    res = run_playbook(lab, str(playbook), inv, extra_vars={"kaapana_nodes_register_timeout": 5})
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    assert "No Kubernetes Node has the name expected for site-main (kaapana_node_name 'site-main') after 5 s" in out, \
        out[-3000:]
    listed = out.split("The cluster's Nodes: ", 1)[-1].split(". MicroK8s names", 1)[0].split(", ")
    assert set(NODE_NAMES) <= set(listed), out[-3000:]
    assert all(c["changed"] == 0 for c in recap(res.stdout).values()), changed_tasks(res.stdout)


def test_recorded_chart_values_follow_kaapanas_set_line(lab, site):
    v = _recorded_values(lab)["global"]
    gv = _group_vars(lab)
    expected = {
        "base_namespace": "base", "hostname": DOMAIN, "instance_name": DOMAIN, "instance_uid": "",
        "services_namespace": "services", "admin_namespace": "admin", "extensions_namespace": "extensions",
        "helm_namespace": "admin", "registry_url": gv["kaapana_registry_url"], "release_name": "kaapana-admin-chart",
        "credentials_registry_username": lab.registry_user,
        "credentials_registry_password": _sha(lab.registry_password()),
        "credentials_keycloak_admin_password": _sha("Site-Keycloak-1!"),
        "credentials_minio_username": "kaapanaminio", "credentials_grafana_username": "admin",
        "dicom_port": "11112", "http_port": "80", "https_port": "443",
        "fast_data_dir": "/home/kaapana", "slow_data_dir": "/home/kaapana",
        "gpu_support": False, "dev_mode": True, "offline_mode": False, "prefetch_extensions": False,
        "include_reverse_proxy": False, "pull_policy_images": "Always", "pull_policy_jobs": "Always",
        "pull_policy_pods": "Always", "kaapana_init_password": _sha("kaapana"),
        "storage_class_slow": "kaapana-hostpath-slow-data-dir", "storage_class_fast": "kaapana-hostpath-fast-data-dir",
        "storage_class_workflow": "kaapana-hostpath-fast-data-dir", "main_node_name": NODE_NAMES[0],
        "storage_node": "storage", "volume_slow_data": "100Gi",
        "smtp_host": "", "smtp_port": "0", "email_address_sender": "",
    }
    mismatched = {k: (v.get(k), want) for k, want in expected.items() if v.get(k) != want}
    assert not mismatched, mismatched
    assert isinstance(v["internalCidrs"], list) and "10.152.183.0/24" in v["internalCidrs"]
    assert "10.1.0.0/16" in v["internalCidrs"]
    # Memory split of 70 % of the main node's memory: limit = alloc * pct / 100, request = limit / 3.
    for name, pct in (("pacs", 30), ("airflow", 50), ("opensearch", 20)):
        limit, request = int(v["%s_memory_limit" % name]), int(v["%s_memory_request" % name])
        assert request == limit // 3
        assert limit > 0
    airflow = int(v["airflow_memory_limit"])
    assert int(v["pacs_memory_limit"]) * 5 // 3 in range(airflow - 2, airflow + 3)
    assert isinstance(v["oidc_client_secret"], str) and len(v["oidc_client_secret"]) >= 16


@pytest.mark.reliability('secrets', 'whole deploy at -vvvv: no password in the output or in any ps snapshot taken while helm ran')
def test_secrets_stay_out_of_verbose_output_and_process_lists(lab, site):
    output = site.get("verbose_output")
    assert output, "the -vvvv deploy did not run"
    assert "task path:" in output, "the output is not verbose"
    for secret in _secrets(lab):
        assert secret not in output, "a secret reached the -vvvv output"
    snaps = site["snapshots"]
    helm_seen = [s for s in snaps if any("helm" in line and (" install " in line or " upgrade " in line
                                                             or " pull " in line or " registry " in line)
                                         for line in s.splitlines())]
    assert helm_seen, "no snapshot caught helm running (%d snapshots)" % len(snaps)
    for snap in snaps:
        for secret in _secrets(lab):
            assert secret not in snap, "a secret appeared in a process list while the deploy ran"


# Files that hold a credential by design: Kubernetes' own store is etcd (the chart's Secrets) and the inventory
# the test wrote; nothing else may.
SCAN_NODE = "grep -rlF {patterns} / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev --exclude-dir=run 2>/dev/null"


@pytest.mark.reliability('secrets', 'no password in any file on the nodes or the controller; kubeconfig and helm credentials 0600')
def test_secrets_are_in_no_file_and_credentials_files_are_private(lab, site):
    patterns = " ".join("-e %s" % shlex.quote(s) for s in _secrets(lab))
    for node in NODES:
        found = node_exec(lab, node, "sh", "-c", SCAN_NODE.format(patterns=patterns), check=False).stdout.split()
        assert not found, "%s: files holding a secret: %s" % (node, found)
    # Controller: everything written since the deploy began, outside the lab's own state and the test inventory.
    roots = [os.path.expanduser("~/.ansible"), "/tmp", "/var/tmp", lab.root]
    # pytest's own temporary directories hold the inventories the tests write (with passwords, by design)
    skip = (os.path.join(lab.root, ".lab"), os.path.join(lab.root, ".git"), str(site["tmp"]),
            str(site["tmp"].parent.parent), "/tmp/pytest-of-")
    marker = os.path.getmtime(str(site["tmp"] / "marker"))
    leaks = []
    for top in roots:
        for base, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if not os.path.join(base, d).startswith(skip) and d not in (".venv", "proc")]
            for name in files:
                path = os.path.join(base, name)
                try:
                    if os.path.islink(path) or os.path.getmtime(path) < marker or os.path.getsize(path) > 50 << 20:
                        continue
                    with open(path, "rb") as handle:
                        data = handle.read()
                except OSError:
                    continue
                if any(sec.encode() in data for sec in _secrets(lab)):
                    leaks.append(path)
    assert not leaks, "files on the controller holding a secret: %s" % leaks
    # The kubeconfigs the collection writes and helm's registry credentials are private (0600).
    for node in NODES:
        res = node_exec(lab, node, "sh", "-c", "for f in /root/.kube/config /root/.config/helm/registry/config.json; "
                        "do [ -e $f ] && stat -c '%a %n' $f; done; true")
        for line in res.stdout.splitlines():
            mode, path = line.split(" ", 1)
            assert int(mode, 8) & 0o077 == 0, "%s: %s is mode %s" % (node, path, mode)
    assert "/root/.kube/config" in node_exec(lab, NODES[0], "ls", "/root/.kube/config").stdout


# Planted for the report test: in a ready pod's env, a crash-looping pod's env, a Secret and a proxy URL in containerd-env.
REPORT_SECRET = "Report-Secret-5q7Zx2"
REPORT_NAMESPACE = "site-report-secret"
CONTAINERD_ENV = "/var/snap/microk8s/current/args/containerd-env"


def _report_manifest():
    env = [{"name": "REPORT_PLANTED_TOKEN", "value": REPORT_SECRET},
           {"name": "REPORT_PLANTED_FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "planted", "key": "token"}}}]
    container = {"name": "app", "image": "registry.lab.invalid/app:1", "env": env}
    labels = {"app": "planted"}
    return {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": REPORT_NAMESPACE}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "planted", "namespace": REPORT_NAMESPACE},
         "stringData": {"token": REPORT_SECRET}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "planted", "namespace": REPORT_NAMESPACE},
         "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "planted-crashing", "namespace": REPORT_NAMESPACE,
                                                         "annotations": {"kwok.test/fault": "CrashLoopBackOff"}},
         "spec": {"containers": [container]}}]}


def _archive_files(path, data=None, prefix=""):
    """{member path: content} of every file in a .tar.gz, with the files of tarballs inside it (recursively)."""
    files = {}
    with tarfile.open(path, "r:gz", fileobj=io.BytesIO(data) if data is not None else None) as archive:
        for member in archive.getmembers():
            if member.isfile():
                content = archive.extractfile(member).read()
                files[prefix + member.name] = content
                if member.name.endswith((".tar.gz", ".tgz")):
                    files.update(_archive_files(None, content, prefix + member.name + "!/"))
    return files


@pytest.mark.reliability('secrets', 'diagnostics report: a value planted in pod env, a Secret and a proxy URL is in no file '
                                    'of the archive; archive 0600; no inspect tarball or inspection-report left on the node')
def test_report_archive_holds_no_secret_and_leaves_nothing_on_the_node(lab, site):
    encoded = [REPORT_SECRET, base64.b64encode(REPORT_SECRET.encode()).decode()]
    main = NODES[0]
    env_before = node_exec(lab, main, "cat", CONTAINERD_ENV).stdout
    lab.kubectl_run("apply", "-f", "-", input_text=json.dumps(_report_manifest()))
    try:
        node_exec(lab, main, "sh", "-c", "printf '%%s\\n' 'HTTPS_PROXY=http://kaapana:%s@proxy.lab.invalid:3128' >> %s"
                  % (REPORT_SECRET, CONTAINERD_ENV))
        deadline = time.time() + 120
        while len(_pods(lab, REPORT_NAMESPACE)) < 2 and time.time() < deadline:
            time.sleep(2)
        assert len(_pods(lab, REPORT_NAMESPACE)) == 2, "the planted pods did not appear"
        dest = site["tmp"] / "report.tar.gz"
        res = run_playbook(lab, "playbooks/report.yml", site["inventory"], extra_args=["-v"],
                           extra_vars={"kaapana_report_dest": str(dest)})
        assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-2000:]
        # The certificates' expiry is part of the report (the admin's certificate is installed by now).
        assert "The platform's TLS certificate (CN=%s" % DOMAIN in res.stdout, res.stdout[-3000:]
        assert all("MicroK8s certificates on %s: ca.crt expires" % node in res.stdout for node in NODES)
        shown = [line[:400] for line in (res.stdout + res.stderr).splitlines() if REPORT_SECRET in line]
        assert not shown, "the planted secret reached the playbook output: %s" % shown
        mode = os.stat(str(dest)).st_mode & 0o777
        assert mode == 0o600, "the archive is mode %o" % mode
        files = _archive_files(str(dest))  # nested tarballs (the inspect report) opened too
        leaks = [name for name, data in files.items() if any(e.encode() in data for e in encoded)]
        assert not leaks, "files in the report holding the planted secret: %s" % leaks
        names, everything = list(files), b"".join(files.values())
        # Not vacuous: the inspect report and the planted objects are in the archive, only the value is gone.
        assert any(n.endswith("k8s/cluster-info-dump") for n in names), names
        assert any(n.endswith("args/containerd-env") for n in names), names
        assert b"REPORT_PLANTED_TOKEN" in everything and b"planted-crashing" in everything
        assert b"proxy.lab.invalid:3128" in everything
        left = node_exec(lab, main, "sh", "-c", "ls -d /var/snap/microk8s/*/inspection-report* /tmp/kaapana-report-* "
                         "2>/dev/null; true").stdout.split()
        assert not left, "left on %s: %s" % (main, left)
    finally:
        lab.kubectl_run("delete", "namespace", REPORT_NAMESPACE, "--ignore-not-found", "--wait=false", check=False)
        subprocess.run(["podman", "exec", "-i", main, "sh", "-c", "cat > %s" % CONTAINERD_ENV], input=env_before,
                       env=lab_nodes.podman_env(lab.cfg), capture_output=True, text=True, check=False)


def _data_digest(lab):
    """Checksums of the data under the fast data dir on the main node, without Kaapana's own version file: every
    deploy's version-file-writer Job rewrites it, and that Job has no nodeSelector (hostPath), so on three nodes it
    lands on the main node in one deploy and on a worker in the next (Kaapana's behaviour, kept by the lab)."""
    lines = data_digest(lab, "site-main", "/home/kaapana").splitlines(True)
    return "".join(line for line in lines if not line.rstrip("\n").endswith("  /home/kaapana/version"))


@pytest.mark.reliability('data safety', 'undeploy leaves no platform pod and the data directories byte-identical')
def test_undeploy_keeps_data_and_leaves_no_pod(lab, site):
    node_exec(lab, "site-main", "sh", "-c",
              "mkdir -p /home/kaapana/dicom/1.2.3 /home/kaapana/postgres && "
              "head -c 65536 /dev/urandom > /home/kaapana/dicom/1.2.3/image.dcm && "
              "echo 'patient data' > /home/kaapana/postgres/PG_VERSION")
    before = _data_digest(lab)
    assert "image.dcm" in before
    res = run_playbook(lab, "playbooks/undeploy.yml", site["inventory"])
    assert res.returncode == 0, res.stdout[-4000:]
    for ns in PLATFORM_NAMESPACES + ["default"]:
        left = [p["metadata"]["name"] for p in _pods(lab, ns) if not p["metadata"].get("deletionTimestamp")]
        assert ns == "default" or not left, "pods left in %s: %s" % (ns, left)
    assert _data_digest(lab) == before
    # No Kaapana release is left but the storage classes' (kept like kaapanactl keeps it: the kept PVCs need them).
    kaapana = {key: r["status"] for key, r in _helm_releases(lab).items() if key[1] != FOREIGN}
    assert kaapana == {("kaapana-system", "kaapana-storageclass"): "deployed"}, kaapana
    site["undeployed_with_data"] = before


def test_redeploy_brings_the_platform_back(lab, site, tls):
    # The undeploy kept the TLS Secret (Kaapana's remove-secret hook deletes nothing). Without it (deleted by hand
    # here), cert-init makes a self-signed one on the deploy; with the admin's certificate given, the deploy installs
    # it over that one (the same files as before: the data directory's tls folder stays byte-identical).
    assert _tls_secret(lab, "admin") == _tls_digests(tls["good"])
    for ns in ("admin", "services"):
        lab.kubectl_run("-n", ns, "delete", "secret", TLS_SECRET, "--ignore-not-found", check=False)
    res = run_playbook(lab, "playbooks/redeploy.yml", site["inventory"], extra_vars=_tls_vars(tls["good"]))
    assert res.returncode == 0, res.stdout[-4000:]
    assert _pods(lab, "services")
    assert "Write the TLS Secret where it differs" in "\n".join(changed_tasks(res.stdout)), changed_tasks(res.stdout)
    assert {ns: _tls_secret(lab, ns) for ns in ("admin", "services")} == {
        ns: _tls_digests(tls["good"]) for ns in ("admin", "services")}
    assert _recorded_values(lab)["global"]["hostname"] == DOMAIN
    # The undeploy above and this deploy are the first of the three deploy/undeploy cycles, when the data held.
    if site.get("undeployed_with_data") and _data_digest(lab) == site["undeployed_with_data"]:
        site["cycles_done"] = 1


def _microk8s(lab):
    """{node: (tracking, Notes, Node kubeletVersion, unschedulable)}: where each node's MicroK8s stands."""
    nodes = {n["metadata"]["name"]: n for n in json.loads(lab.kubectl_run("get", "nodes", "-o", "json").stdout)["items"]}
    out = {}
    for host, name in zip(NODES, NODE_NAMES):
        cells = node_exec(lab, host, "snap", "list", "microk8s").stdout.splitlines()[1].split()
        node = nodes.get(name, {})
        out[host] = (cells[3], cells[5], node.get("status", {}).get("nodeInfo", {}).get("kubeletVersion"),
                     bool(node.get("spec", {}).get("unschedulable")))
    return out


def _admin_release(lab):
    return [(r["name"], r["status"]) for r in helm_releases(lab, "-n", "default", "--filter", "^kaapana-admin-chart$",
                                                            check=False)]


def _cordon_notes(lab):
    nodes = json.loads(lab.kubectl_run("get", "nodes", "-o", "json").stdout)["items"]
    return {n["metadata"]["name"]: n["metadata"].get("annotations", {})["kaapana.platform/upgrade-cordoned"]
            for n in nodes if "kaapana.platform/upgrade-cordoned" in n["metadata"].get("annotations", {})}


MICROK8S_AT_133 = {host: ("1.33/stable", "classic,held", "v1.33.5", False) for host in NODES}
PAUSE_NOTE = ["-n", "default", "get", "configmap", "kaapana-platform-paused", "-o", "jsonpath={.data.version}"]
CONTAINERD_ENV = "/var/snap/microk8s/current/args/containerd-env"


def test_upgrade_microk8s_refuses_a_downgrade_and_a_skipped_check_before_any_change(lab, site):
    assert _microk8s(lab) == MICROK8S_AT_133
    res = run_playbook(lab, "playbooks/upgrade_microk8s.yml", site["inventory"],
                       extra_vars={"kaapana_microk8s_channel": "1.32/stable"})
    assert_rejected(res, ["site-main runs v1.33.5, newer than 1.32/stable", "cannot be downgraded",
                          "Nothing was changed"], not_reached=["Drain the node", "Note the paused version"])
    assert _microk8s(lab) == MICROK8S_AT_133 and _admin_release(lab) == [("kaapana-admin-chart", "deployed")]


def test_upgrade_microk8s_in_check_mode_plans_and_changes_nothing(lab, site):
    res = run_playbook(lab, "playbooks/upgrade_microk8s.yml", site["inventory"], extra_args=["--check"],
                       extra_vars={"kaapana_microk8s_channel": "1.35/stable"})
    assert res.returncode == 0, res.stdout[-4000:]
    assert "site-main: 1.33/stable (v1.33.5) -> 1.34/stable -> 1.35/stable" in res.stdout, res.stdout[-4000:]
    # both steps' plays run, each with its channel, for every node
    for name in NODE_NAMES:
        for channel in ("1.34/stable", "1.35/stable"):
            assert "Would drain %s, refresh MicroK8s to %s" % (name, channel) in res.stdout, (name, channel)
    assert all(c["changed"] == 0 for c in recap(res.stdout).values()), changed_tasks(res.stdout)
    assert _microk8s(lab) == MICROK8S_AT_133 and _admin_release(lab) == [("kaapana-admin-chart", "deployed")]


def test_upgrade_microk8s_stops_at_the_first_node_that_fails(lab, site):
    # After the refresh the main node's containerd restarts with a proxy that cannot reach the registry (an edited
    # containerd-env, as a hospital proxy change leaves it): Calico's image does not come, the Node stays NotReady.
    site["upgrade_data"] = _data_digest(lab)
    original = node_exec(lab, NODES[0], "cat", CONTAINERD_ENV).stdout
    node_exec(lab, NODES[0], "sh", "-c", "printf '\\nHTTP_PROXY=http://%s:9\\n' >> %s" % (lab.cfg.gateway, CONTAINERD_ENV))
    try:
        res = run_playbook(lab, "playbooks/upgrade_microk8s.yml", site["inventory"],
                           extra_vars={"kaapana_microk8s_channel": "1.34/stable",
                                       "kaapana_microk8s_upgrade_ready_timeout": 10})
    finally:
        podman(lab, "exec", "-i", NODES[0], "sh", "-c", "cat > %s" % CONTAINERD_ENV, input_text=original)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-4000:]
    assert ("MicroK8s on site-main (Node %s) stopped at \"Wait until the Node is Ready at the new version\" on its way "
            "to 1.34/stable: the Node is Ready=Unknown" % NODE_NAMES[0]) in out, out[-4000:]
    assert "calico" in out and "the nodes after it were not touched" in out and "deploys the paused platform" in out
    # main refreshed and left cordoned; the workers untouched; the platform paused with its data as it was
    state = _microk8s(lab)
    assert state[NODES[0]][:2] == ("1.34/stable", "classic,held") and state[NODES[0]][3] is True, state
    assert {h: state[h] for h in NODES[1:]} == {h: MICROK8S_AT_133[h] for h in NODES[1:]}, state
    assert _cordon_notes(lab) == {NODE_NAMES[0]: "1.34/stable"}
    assert _admin_release(lab) == []
    assert lab.kubectl_run(*PAUSE_NOTE).stdout == SHAPE["version"]
    assert _data_digest(lab) == site["upgrade_data"]
    # The admin fixes the proxy and restarts MicroK8s on the node: the Node turns Ready again.
    node_exec(lab, NODES[0], "snap", "restart", "microk8s")
    lab.kubectl_run("wait", "--for=condition=Ready", "node/" + NODE_NAMES[0], "--timeout=90s")


@pytest.mark.reliability('data safety', 'upgrade_microk8s.yml: the paused platform deployed again after the nodes were '
                         'refreshed one at a time; data byte-identical')
def test_upgrade_microk8s_resumes_one_node_at_a_time(lab, site):
    # (Each refresh waits for the Node; the two-step plan 1.33 -> 1.35 is run in check mode above and unit-tested.)
    # An admin cordoned the last worker for reasons of their own: the upgrade refreshes it and leaves the cordon.
    lab.kubectl_run("cordon", NODE_NAMES[2])
    res = run_playbook(lab, "playbooks/upgrade_microk8s.yml", site["inventory"],
                       extra_vars={"kaapana_microk8s_channel": "1.34/stable"})
    assert res.returncode == 0, res.stdout[-6000:]
    # main is at 1.34 already (the run that stopped refreshed it): the workers follow, one after the other
    assert "site-main: 1.34/stable (v1.34.1), stays" in res.stdout, res.stdout[-4000:]
    refreshed = [task.rsplit(": ", 1)[1] for task in changed_tasks(res.stdout)
                 if task.startswith("kaapana.platform.microk8s : Refresh the microk8s snap to the step's channel:")]
    assert refreshed == NODES[1:], refreshed
    held = {host: ("1.34/stable", "classic,held", "v1.34.1", host == NODES[2]) for host in NODES}
    assert _microk8s(lab) == held
    # the main node the stopped run left cordoned is uncordoned now that it is well; no upgrade note is left
    assert _cordon_notes(lab) == {}
    lab.kubectl_run("uncordon", NODE_NAMES[2])
    assert _admin_release(lab) == [("kaapana-admin-chart", "deployed")]
    assert lab.kubectl_run(*PAUSE_NOTE, check=False).returncode != 0
    assert _pods(lab, "services")
    assert _data_digest(lab) == site["upgrade_data"]
    # The pause and resume were a deploy/undeploy cycle with the data intact.
    if site.get("cycles_done") == 1:
        site["cycles_done"] = 2
    # The drains replaced the foreign application's pod (its Deployment made a new one); release, PVC and Job stay.
    foreign = _foreign_state(lab)
    assert {k: v for k, v in foreign.items() if k != "pods"} == {k: v for k, v in site["foreign"].items() if k != "pods"}
    assert len(foreign["pods"]) == 1
    site["foreign"] = foreign
    # As an admin would: the inventory names the channel the nodes track now.
    write_inventory(site["inventory"], NODES[:1], NODES[1:],
                    group_vars=dict(_group_vars(lab), kaapana_microk8s_channel="1.34/stable"))


def test_upgrade_microk8s_again_changes_nothing(lab, site):
    res = run_playbook(lab, "playbooks/upgrade_microk8s.yml", site["inventory"])
    assert res.returncode == 0, res.stdout[-4000:]
    assert "MicroK8s tracks 1.34/stable on every node: nothing to upgrade." in res.stdout
    assert all(c["changed"] == 0 for c in recap(res.stdout).values()), changed_tasks(res.stdout)


@pytest.mark.reliability('data safety', 'three deploy/undeploy cycles: data checksums unchanged, no platform pod left')
def test_three_deploy_undeploy_cycles_keep_the_data_byte_identical(lab, site):
    before = _data_digest(lab)
    assert "image.dcm" in before
    # Cycle 1 is the undeploy and redeploy tests above when both passed with the data intact; the rest run here.
    for cycle in range(site.get("cycles_done", 0) + 1, 4):
        # kaapanactl's --no-hooks and --nuke-pods: the harshest undeploy, and the one a foreign release must survive
        res = run_playbook(lab, "playbooks/undeploy.yml", site["inventory"],
                           extra_vars={"kaapana_undeploy_no_hooks": True, "kaapana_undeploy_nuke_pods": True})
        assert res.returncode == 0, "cycle %d undeploy: %s" % (cycle, res.stdout[-4000:])
        assert "default/%s" % FOREIGN in res.stdout, "the report does not name the release left alone"
        assert _foreign_state(lab) == site["foreign"], "cycle %d: the foreign release changed" % cycle
        left = [(ns, p["metadata"]["name"]) for ns in PLATFORM_NAMESPACES for p in _pods(lab, ns)
                if not p["metadata"].get("deletionTimestamp")]
        assert not left, "cycle %d: pods left %s" % (cycle, left)
        assert _data_digest(lab) == before, "cycle %d: the data changed during undeploy" % cycle
        res = run_playbook(lab, "playbooks/deploy.yml", site["inventory"])
        assert res.returncode == 0, "cycle %d deploy: %s" % (cycle, res.stdout[-4000:])
        assert _pods(lab, "services"), "cycle %d: no platform pods after deploy" % cycle
        assert _data_digest(lab) == before, "cycle %d: the data changed during deploy" % cycle


@pytest.mark.reliability('data safety', 'a foreign Helm release with a PVC, a pod and a hook Job in default survives deploy, '
                         'undeploy with no_hooks and nuke_pods, and purge')
def test_a_foreign_release_survives_deploy_undeploy_nuke_and_purge(lab, site):
    before = site["foreign"]
    assert before["release"] == [(FOREIGN, "deployed", "1")] and before["pvc"] and before["pods"] and before["job"], before
    # The deploys of this module ran with it in place, and the cycles' undeploys with --no-hooks and --nuke-pods.
    assert _foreign_state(lab) == before
    res = run_playbook(lab, "playbooks/undeploy.yml", site["inventory"],
                       extra_vars={"kaapana_purge_data": True, "kaapana_purge_confirm": DOMAIN})
    assert res.returncode == 0, res.stdout[-4000:]
    assert "Data deleted" in res.stdout
    assert _foreign_state(lab) == before
