"""The real control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler
and KWOK, started from the cached binaries and recorded in the process table."""
import copy
import ipaddress
import os
import ssl
import time
import urllib.request

import yaml

from lab import pki
from lab.config import ROOT

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
FAULT_ANNOTATION = 'metadata.annotations["kwok.test/fault"]'
# Pods the kube-helm stand-in runs in their node container (lab/standins/kube_helm.py): KWOK's upstream pod-complete
# stage leaves them alone; the lab stages end them by the exit code the stand-in writes (lab/kwok/lab-stages.yaml).
HOST_JOB_ANNOTATION = "kaapana.lab/host-job"


def _delayed(stage, name):
    """A copy of an upstream stage for objects annotated kwok.test/ready-after: "<seconds>", which happens that long
    after the object was created (a real kubelet's node turns Ready only once its CNI runs)."""
    delayed = copy.deepcopy(stage)
    delayed["metadata"]["name"] = name
    delayed["spec"]["selector"]["matchExpressions"].append(
        {"key": '.metadata.annotations["kwok.test/ready-after"]', "operator": "Exists"})
    delayed["spec"]["weight"] = 10000
    delayed["spec"]["delay"] = {"durationMilliseconds": 1000,
                                "durationFrom": {"expressionFrom": '.metadata.annotations["kwok.test/ready-after"] + "s"'}}
    return delayed


def kwok_config(stage_dir):
    """KWOK's upstream fast stages plus the lab's fault and delay stages, as one YAML stream."""
    def load(rel):
        with open(os.path.join(stage_dir, rel)) as handle:
            return yaml.safe_load(handle)

    docs = [{
        "kind": "KwokConfiguration",
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        # Set explicitly: with a --config file KWOK v0.8.0 leaves unset parallelism options at 0 and exits.
        "options": {"nodeLeaseDurationSeconds": 40, "nodeLeaseParallelism": 4, "podPlayStageParallelism": 8,
                    "nodePlayStageParallelism": 4, "podsOnNodeSyncParallelism": 2},
    }]
    for rel in ("node/fast/node-initialize.yaml", "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml"):
        stage = load(rel)
        # A node the microk8s stand-in marked as left or stopped stays NotReady, as a dead kubelet's node would.
        stage["spec"]["selector"].setdefault("matchExpressions", []).append(
            {"key": '.metadata.labels["kaapana.lab/standin-state"]', "operator": "DoesNotExist"})
        docs.append(stage)
        if rel.endswith("node-initialize.yaml"):
            docs.append(_delayed(stage, "lab-node-initialize-after"))
    complete = load("pod/fast/pod-complete.yaml")
    # A host job's pod ends when its command has run in the node container, with that exit code (lab stages).
    complete["spec"]["selector"]["matchExpressions"].append(
        {"key": '.metadata.annotations["%s"]' % HOST_JOB_ANNOTATION, "operator": "DoesNotExist"})
    docs.append(complete)
    docs.append(load("pod/fast/pod-delete.yaml"))
    ready = load("pod/fast/pod-ready.yaml")
    # Upstream pod-ready would make an ImagePullBackOff pod Ready once the fault stage stops matching.
    ready["spec"]["selector"]["matchExpressions"].append(
        {"key": "." + FAULT_ANNOTATION, "operator": "NotIn", "values": ["ImagePullBackOff"]})
    docs.append(ready)
    with open(os.path.join(ROOT, "lab", "kwok", "lab-stages.yaml")) as handle:
        for doc in yaml.safe_load(handle)["stages"]:
            if doc["spec"]["next"].get("statusTemplate") == "READY_TEMPLATE":
                doc["spec"]["next"] = copy.deepcopy(ready["spec"]["next"])
            docs.append(doc)
    return yaml.safe_dump_all(docs, sort_keys=False)


def _https_ok(url, cfg, timeout=2):
    try:
        # Inside the try: a checkout that never ran `lab up` has no PKI, and that means "not healthy" too.
        ctx = ssl.create_default_context(cafile=os.path.join(cfg.pki, "ca.crt"))
        ctx.load_cert_chain(os.path.join(cfg.pki, "admin.crt"), os.path.join(cfg.pki, "admin.key"))
        with urllib.request.urlopen(url, context=ctx, timeout=timeout) as resp:
            return resp.status == 200
    except Exception:  # noqa: BLE001 - any failure means "not healthy yet"
        return False


def _http_ok(url, timeout=2):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status == 200
    except Exception:  # noqa: BLE001
        return False


def _insecure_ok(url, timeout=2):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, context=ctx, timeout=timeout) as resp:
            return resp.status == 200
    except Exception:  # noqa: BLE001
        return False


def health(cfg):
    """Component -> healthy? Uses each component's own health endpoint."""
    return {
        "etcd": _http_ok("http://127.0.0.1:2379/health"),
        "kube-apiserver": cfg.gateway_is_local() and _https_ok(cfg.api_server + "/readyz", cfg),
        "kube-controller-manager": _insecure_ok("https://127.0.0.1:10257/healthz"),
        "kube-scheduler": _insecure_ok("https://127.0.0.1:10259/healthz"),
        "kwok": _http_ok("http://127.0.0.1:10247/healthz"),
    }


def wait_for(check, what, timeout, procs=None, name=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        if procs is not None and name and not procs.running(name):
            raise RuntimeError("%s exited during start-up; see %s" % (name, procs.log_path(name)))
        time.sleep(0.3)
    raise RuntimeError("timed out after %ss waiting for %s" % (timeout, what))


def argv_for(name, cfg):
    p = cfg.pki
    kubeconfig = cfg.kubeconfig
    if name == "etcd":
        return [cfg.bin("etcd"), "--name", "lab", "--data-dir", cfg.path("etcd"),
                "--listen-client-urls", "http://127.0.0.1:2379", "--advertise-client-urls", "http://127.0.0.1:2379",
                "--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
                "--initial-cluster", "lab=http://127.0.0.1:2380", "--listen-metrics-urls", "http://127.0.0.1:2381",
                "--unsafe-no-fsync=true", "--quota-backend-bytes=4294967296", "--log-level=warn"]
    if name == "kube-apiserver":
        return [cfg.bin("kube-apiserver"), "--etcd-servers=http://127.0.0.1:2379",
                "--bind-address=" + cfg.gateway, "--advertise-address=" + cfg.gateway,
                "--secure-port=%d" % cfg.api_port,
                "--tls-cert-file=%s/admin.crt" % p, "--tls-private-key-file=%s/admin.key" % p,
                "--client-ca-file=%s/ca.crt" % p,
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                "--service-account-key-file=%s/sa.pub" % p, "--service-account-signing-key-file=%s/sa.key" % p,
                "--service-cluster-ip-range=" + cfg.service_cidr, "--authorization-mode=Node,RBAC",
                "--allow-privileged=true", "--service-node-port-range=80-32000",
                "--audit-policy-file=" + cfg.path("audit-policy.yaml"), "--audit-log-path=" + cfg.path("logs", "audit.log"),
                "--audit-log-maxsize=200", "--audit-log-maxbackup=1",
                "--profiling=false", "--v=1"]
    common = ["--kubeconfig=" + kubeconfig, "--authentication-kubeconfig=" + kubeconfig,
              "--authorization-kubeconfig=" + kubeconfig, "--bind-address=127.0.0.1", "--leader-elect=false",
              "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics", "--profiling=false"]
    if name == "kube-controller-manager":
        return [cfg.bin("kube-controller-manager")] + common + [
            "--secure-port=10257", "--service-account-private-key-file=%s/sa.key" % p,
            "--root-ca-file=%s/ca.crt" % p, "--use-service-account-credentials=false",
            "--terminated-pod-gc-threshold=200", "--cluster-name=kaapana-lab",
            "--concurrent-deployment-syncs=20", "--concurrent-replicaset-syncs=20", "--concurrent-job-syncs=20",
            "--kube-api-qps=200", "--kube-api-burst=400",
            # KWOK renews every Node's lease for the lab; on a loaded 2-core machine it once fell more than the
            # default 50 s behind and the node lifecycle controller marked the pool node NotReady in the middle
            # of a test (CI, 2026-12-05). A node the lab stops is marked NotReady by its stand-in directly, so
            # this wider grace only absorbs the lab's own stalls.
            "--node-monitor-grace-period=180s"]
    if name == "kube-scheduler":
        return [cfg.bin("kube-scheduler")] + common + ["--secure-port=10259", "--kube-api-qps=200", "--kube-api-burst=400"]
    if name == "kwok":
        return [cfg.bin("kwok"), "--config=" + cfg.path("kwok.yaml"), "--kubeconfig=" + kubeconfig,
                "--manage-all-nodes=true", "--node-lease-duration-seconds=40", "--cidr=" + cfg.pod_cidr,
                "--node-ip=" + cfg.gateway, "--server-address=127.0.0.1:10247"]
    raise KeyError(name)


# Metadata-level audit of requests only (no bodies): enough to count API requests per client in
# benchmarks, and it never records Secret contents.
AUDIT_POLICY = """apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: None
  users: ["system:kube-controller-manager", "system:kube-scheduler"]
- level: None
  resources: [{group: "coordination.k8s.io", resources: ["leases"]}]
- level: Metadata
"""


def foreign_lab(cfg):
    """The state directory of a lab that another checkout started on this machine, else None. The lab's
    addresses and ports are fixed, so two labs cannot run side by side; starting a second one over the
    first would fail later with port conflicts, or talk to the wrong API server."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                argv = handle.read().decode("utf-8", "replace").split("\0")
        except OSError:
            continue
        if not argv or os.path.basename(argv[0]) != "etcd" or "--data-dir" not in argv[:-1]:
            continue
        state = os.path.dirname(argv[argv.index("--data-dir") + 1])
        if os.path.realpath(state) != os.path.realpath(cfg.state):
            return state
    return None


def start(cfg, procs):
    other = foreign_lab(cfg)
    if other:
        raise RuntimeError("another lab is running on this machine (state in %s); only one lab can run at a time: "
                           "run `python -m lab down` in that checkout first" % other)
    os.makedirs(cfg.state, exist_ok=True)
    pki.ensure_pki(cfg.pki, cfg.gateway, str(ipaddress.ip_network(cfg.service_cidr)[1]))
    pki.write_kubeconfig(cfg.kubeconfig, cfg.api_server, cfg.pki)
    kwok_yaml = kwok_config(cfg.kwok_stage_dir)
    try:
        with open(cfg.path("kwok.yaml")) as handle:
            kwok_changed = handle.read() != kwok_yaml
    except OSError:
        kwok_changed = True
    with open(cfg.path("kwok.yaml"), "w") as handle:
        handle.write(kwok_yaml)
    if kwok_changed:
        procs.stop("kwok")  # KWOK reads its stages only at start: a changed configuration restarts it
    with open(cfg.path("audit-policy.yaml"), "w") as handle:
        handle.write(AUDIT_POLICY)
    checks = health(cfg)
    order = [
        ("etcd", lambda: _http_ok("http://127.0.0.1:2379/health"), 60),
        ("kube-apiserver", lambda: cfg.gateway_is_local() and _https_ok(cfg.api_server + "/readyz", cfg), 120),
        ("kube-controller-manager", lambda: _insecure_ok("https://127.0.0.1:10257/healthz"), 60),
        ("kube-scheduler", lambda: _insecure_ok("https://127.0.0.1:10259/healthz"), 60),
        ("kwok", lambda: _http_ok("http://127.0.0.1:10247/healthz"), 60),
    ]
    for name, check, timeout in order:
        if checks.get(name) and procs.running(name):
            continue
        procs.stop(name)
        procs.start(name, argv_for(name, cfg))
        wait_for(check, name, timeout, procs, name)


def restart_apiserver(cfg, procs):
    """Stop kube-apiserver and start it again (fault tests: watches must survive this)."""
    procs.stop("kube-apiserver")
    procs.start("kube-apiserver", argv_for("kube-apiserver", cfg))
    wait_for(lambda: _https_ok(cfg.api_server + "/readyz", cfg), "kube-apiserver", 120, procs, "kube-apiserver")


def stop(procs):
    for name in reversed(COMPONENTS):
        procs.stop(name)
