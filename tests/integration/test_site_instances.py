"""site.yml end to end with Longhorn storage and an INSTANCE_UID, run the way AWX runs it (ansible-runner:
private data dir with project, inventory and extravars, no TTY), behind a proxy: the three nodes are on the lab's
proxied network, where the registry answers only through the lab's squid (host firewall rules; MicroK8s' stand-in
keeps a Node NotReady until its containerd pulled the CNI image with the proxy of its containerd-env). site.yml on
three lab nodes with
kaapana_storage_provider longhorn (chart from the lab's OCI registry) and kaapana_instance_uid a; the event
stream shows success and the readiness progress lines. Then, on the same cluster: the second run changes
nothing; instance b deploys beside a and undeploying b leaves a ready with its data; a undeploys (data
intact) and redeploys. Last, Longhorn's removal: while a Longhorn volume holds a file of known checksum,
playbooks/uninstall.yml without a purge fails before any change (file, volume, releases and MicroK8s intact); with
the purge confirmed it removes the volume, its data and Longhorn.

Kaapana's admin namespace is shared between instances and its 0.6.0 admin chart creates cluster-scoped
storage classes and a project namespace of its own: two releases of that chart collide on them, so each
instance here gets its own admin and project namespace, and b leaves the storage classes to a
(docs/troubleshooting.md)."""
import base64
import glob
import json
import os
import subprocess
import sys
import time

import pytest
import yaml

from tests.integration.nodes import (assert_rejected, changed_tasks, data_digest, helm_releases, lab_platform_vars, live_pods, node_containers,
                                     node_exec, pods_not_ready, recap, run_playbook, shaped_lab, write_inventory)

pytestmark = [pytest.mark.lab, pytest.mark.slow]

NODES = ["inst-main", "inst-worker-1", "inst-worker-2"]
BIN = os.path.dirname(sys.executable)
PROGRESS_TASK = "Show the progress of the platform's pods"


# Helm 3 (the helm snap's 3/stable) and the platform shaped like Kaapana 0.6.0 (the admin chart creates the storage
# classes); test_site covers Helm 4 and the 0.6.1 shape.
SHAPE = {"helm_major": 3, "version": "0.6.0-lab"}


lab = shaped_lab(SHAPE)


def _group_vars(lab):
    registry = lab.registry
    return lab_platform_vars(lab, **{
        "kaapana_platform_version": SHAPE["version"],
        "kaapana_helm_snap_channel": "%d/stable" % SHAPE["helm_major"],
        "kaapana_keycloak_admin_password": "Inst-Keycloak-1!",
        # Longhorn from the lab's OCI registry (password auth, plain HTTP).
        "kaapana_storage_provider": "longhorn",
        "kaapana_longhorn_chart_ref": "oci://%s/charts/longhorn" % registry,
        "kaapana_longhorn_plain_http": True,
        "kaapana_longhorn_registry_username": lab.registry_user,
        "kaapana_longhorn_registry_password": lab.registry_password(),
        # The lab VM's kernel has no iSCSI: iscsid cannot run (the role warns instead of failing).
        "kaapana_longhorn_iscsi_required": False,
        "kaapana_longhorn_values": {"global": {"nodeSelector": {"kaapana.lab/standin-cluster": NODES[0]}}},
        "kaapana_longhorn_wait_timeout": 240,
        "kaapana_longhorn_wait_settle": 3,
        "kaapana_longhorn_helm_timeout": "4m",
        # The dashboard behind the platform's Traefik v3: site.yml serves it after the platform deploy.
        "kaapana_longhorn_ingress": True,
        "kaapana_platform_wait_settle": 10,
        "kaapana_platform_wait_progress_interval": 4,
        # The nodes reach the registry only through the lab's squid.
        "kaapana_http_proxy": lab.proxy_url,
        "kaapana_https_proxy": lab.proxy_url,
    })


def _instance_vars(uid):
    """Instance <uid>: its own admin and project namespaces; only a creates the storage classes."""
    return {"kaapana_instance_uid": uid, "kaapana_domain": "kaapana-%s.inst.lab.internal" % uid,
            "kaapana_admin_namespace": "%s-admin" % uid,
            "kaapana_platform_extra_values": {"lab": {"createStorageClasses": uid == "a",
                                                      "projectNamespace": "%s-project" % uid}}}


INSTANCE_A = _instance_vars("a")
INSTANCE_B = _instance_vars("b")
NAMESPACES = {uid: ["%s-admin" % uid, "%s-services" % uid, "%s-extensions" % uid, "%s-project" % uid]
              for uid in ("a", "b")}


def _data_digest(lab, uid):
    """Checksums of every file under the instance's data directory on the main node, without Kaapana's own version
    file: every deploy's version-file-writer Job rewrites it, and that Job has no nodeSelector (hostPath), so it
    lands on the main node in one deploy and on the worker in the next (Kaapana's behaviour, kept by the lab)."""
    version = "  /home/kaapana-%s/version" % uid
    lines = data_digest(lab, NODES[0], "/home/kaapana-%s" % uid).splitlines(True)
    return "".join(line for line in lines if not line.rstrip("\n").endswith(version))


def _live_platform_pods(lab, uid):
    return ["%s/%s" % (ns, pod["metadata"]["name"]) for ns in NAMESPACES[uid] for pod in live_pods(lab, ns)]


def _recorded_values(lab, namespace):
    cm = json.loads(lab.kubectl_run("-n", namespace, "get", "configmap", "kaapana-admin-chart-values", "-o",
                                    "json").stdout)
    return json.loads(cm["data"]["values.json"])["global"]


def _runner(lab, tmp, playbook, inventory, extravars):
    """ansible-runner as AWX calls it: a private data dir with project/, inventory/, env/ (no TTY)."""
    pdd = tmp / "runner"
    for sub in ("inventory", "env"):
        (pdd / sub).mkdir(parents=True, exist_ok=True)
    if not (pdd / "project").exists():
        os.symlink(lab.root, str(pdd / "project"))
    (pdd / "inventory" / "hosts.yml").write_text(open(inventory).read())
    (pdd / "env" / "extravars").write_text(yaml.safe_dump(extravars))
    env_keys = ("KUBECONFIG", "K8S_AUTH_KUBECONFIG", "ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_TASK_TIMEOUT", "CONTAINERS_CONF",
                "PATH")
    envvars = {k: v for k, v in lab.env().items() if k in env_keys}
    envvars.update({"ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"})
    (pdd / "env" / "envvars").write_text(yaml.safe_dump(envvars))
    os.chmod(str(pdd / "env" / "extravars"), 0o600)
    proc = subprocess.run([os.path.join(BIN, "ansible-runner"), "run", str(pdd), "-p", playbook, "--ident", "site"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=1200, check=False,
                          env=dict(os.environ, PATH=envvars["PATH"]))
    events = []
    for path in glob.glob(str(pdd / "artifacts" / "site" / "job_events" / "*.json")):
        with open(path) as handle:
            events.append(json.load(handle))
    events.sort(key=lambda e: e.get("counter", 0))
    status = (pdd / "artifacts" / "site" / "status").read_text().strip()
    return proc, status, events


@pytest.fixture(scope="module")
def cluster(lab, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("instances")
    with node_containers(lab, NODES, proxied=True) as names:
        inv = write_inventory(tmp / "hosts.yml", names[:1], names[1:], group_vars=_group_vars(lab))
        state = {"inventory": inv, "tmp": tmp}
        yield state
        if state.get("uninstalled"):
            return
        # purge (both variables): the PVCs, bound to these nodes, must not outlive them
        for extra in (INSTANCE_B, INSTANCE_A):
            run_playbook(lab, "playbooks/undeploy.yml", inv, extra_vars=dict(
                extra, kaapana_purge_data=True, kaapana_purge_confirm=extra["kaapana_domain"]))
        _delete_shared_volumes(lab)
        run_playbook(lab, "playbooks/uninstall.yml", inv, extra_vars=dict(
            INSTANCE_A, kaapana_purge_data=True, kaapana_purge_confirm=INSTANCE_A["kaapana_domain"]))


def _delete_shared_volumes(lab):
    """With an instance UID the purge keeps the shared admin and project namespaces' PVCs (by design), and Longhorn
    is not removed while their volumes exist: this lab is shared with later tests, so they go here, by hand, as an
    admin would delete another owner's volumes. Only once both instances are undeployed: each admin namespace holds
    the release records of the charts kube-helm installed."""
    lab.kubectl_run("delete", "namespace", "a-admin", "a-project", "b-admin", "b-project", "--ignore-not-found",
                    "--wait=true", "--timeout=120s", check=False)
    for volume in _longhorn_volumes(lab):
        if volume["status"].get("kubernetesStatus", {}).get("namespace") not in ("a-services", "a-extensions"):
            lab.kubectl_run("-n", "longhorn-system", "delete", "volumes.longhorn.io", volume["metadata"]["name"],
                            "--wait=true", "--timeout=60s", check=False)
            lab.kubectl_run("delete", "pv", volume["metadata"]["name"], "--ignore-not-found", "--wait=false",
                            check=False)


def _longhorn_volumes(lab):
    out = lab.kubectl_run("-n", "longhorn-system", "get", "volumes.longhorn.io", "-o", "json", check=False)
    return json.loads(out.stdout)["items"] if out.returncode == 0 else []


def test_site_through_ansible_runner_with_longhorn_and_instance_uid(lab, cluster):
    proc, status, events = _runner(lab, cluster["tmp"], "site.yml", cluster["inventory"], INSTANCE_A)
    stdout = "".join(e.get("stdout", "") + "\n" for e in events)
    assert status == "successful", proc.stdout[-4000:] + proc.stderr[-2000:] + stdout[-6000:]
    stats = [e for e in events if e["event"] == "playbook_on_stats"]
    assert stats and not stats[-1]["event_data"].get("failures") and not stats[-1]["event_data"].get("dark")
    # The readiness progress reached the event stream as the loop's item lines ("N/M pods ready after Ns").
    progress = [e for e in events if e["event"] == "runner_item_on_ok"
                and e["event_data"].get("task") == PROGRESS_TASK]
    lines = [e.get("stdout", "") for e in progress]
    assert any("pods ready after" in line for line in lines), lines or stdout[-4000:]
    assert "https://kaapana-a.inst.lab.internal" in stdout
    # Longhorn installed, the platform on Longhorn's classes, the instance's own namespaces and data dirs.
    not_ready = pods_not_ready(lab, ["longhorn-system"])
    assert not not_ready, not_ready
    assert lab.kubectl_run("get", "storageclass", "longhorn", check=False).returncode == 0
    not_ready = pods_not_ready(lab, ["a-admin", "a-services", "a-extensions"])
    assert not not_ready, not_ready
    v = _recorded_values(lab, "a-default")
    expected = {"instance_uid": "a", "services_namespace": "a-services", "extensions_namespace": "a-extensions",
                "admin_namespace": "a-admin", "helm_namespace": "a-admin", "include_reverse_proxy": True,
                "fast_data_dir": "/home/kaapana-a", "slow_data_dir": "/home/kaapana-a",
                "storage_class_slow": "kaapana-longhorn-slow-data", "storage_class_fast": "kaapana-longhorn-fast-db",
                "storage_class_workflow": "kaapana-longhorn-fast-workflow", "hostname": "kaapana-a.inst.lab.internal"}
    mismatched = {k: (v.get(k), want) for k, want in expected.items() if v.get(k) != want}
    assert not mismatched, mismatched
    # The Longhorn dashboard: a traefik.io Middleware and an Ingress that names it.
    middleware = lab.kubectl_run("-n", "longhorn-system", "get", "middlewares.traefik.io", "strip-prefix-longhorn",
                                 "-o", "json", check=False)
    assert middleware.returncode == 0, middleware.stderr
    assert json.loads(middleware.stdout)["apiVersion"] == "traefik.io/v1alpha1"
    ingress = json.loads(lab.kubectl_run("-n", "longhorn-system", "get", "ingress", "longhorn-ui-ingress", "-o",
                                         "json").stdout)
    assert ingress["metadata"]["annotations"]["traefik.ingress.kubernetes.io/router.middlewares"] == (
        "longhorn-system-strip-prefix-longhorn@kubernetescrd")
    # The extravars file (it holds the registry password) is not world-readable.
    assert oct(os.stat(str(cluster["tmp"] / "runner" / "env" / "extravars")).st_mode & 0o077) == "0o0"


@pytest.mark.reliability('proxy', 'a first install whose nodes reach the registry only through squid succeeds in one run')
def test_nodes_reached_the_registry_only_through_the_proxy(lab, cluster):
    """The network lets the nodes reach the registry through squid only, and everything site.yml fetched from it
    (MicroK8s' CNI image on every node, the platform and Longhorn charts on the main node) went through squid."""
    for node in NODES:
        direct = node_exec(lab, node, "curl", "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}",
                           "http://%s/v2/" % lab.registry, check=False)
        assert direct.stdout == "000", "%s reached the registry without the proxy: %s" % (node, direct.stdout)
    ips = {node: node_exec(lab, node, "hostname", "-I").stdout.split()[0] for node in NODES}
    fetched = {node: [line.split()[6] for line in lab.proxy_access_log().splitlines()
                      if len(line.split()) > 6 and line.split()[2] == ip and "/200 " in line]
               for node, ip in ips.items()}
    for node in NODES:
        assert any("/calico-cni/manifests/" in url for url in fetched[node]), (node, fetched[node][-10:])
    main = fetched[NODES[0]]
    assert any("/charts/kaapana-admin-chart/manifests/" in url for url in main), main[-20:]
    assert any("/charts/longhorn/manifests/" in url for url in main), main[-20:]


def test_second_run_with_longhorn_and_instance_uid_changes_nothing(lab, cluster):
    res = run_playbook(lab, "site.yml", cluster["inventory"], extra_vars=INSTANCE_A)
    assert res.returncode == 0, res.stdout[-4000:]
    counts = recap(res.stdout)
    assert set(NODES) <= set(counts), counts
    assert all(c["changed"] == 0 for c in counts.values()), (counts, changed_tasks(res.stdout))


# --- Longhorn backups (playbooks/storage.yml) ----------------------------------------------------------------------
BACKUP_KEY = "Lab-Backup-Secret-7Qp"
BACKUP = {"kaapana_longhorn_backup_target": "s3://kaapana-backups@lab-region-1/longhorn/",
          "kaapana_longhorn_backup_credentials": {"AWS_ACCESS_KEY_ID": "lab-backup", "AWS_SECRET_ACCESS_KEY": BACKUP_KEY,
                                                  "AWS_ENDPOINTS": "http://10.89.0.1:9000"},
          "kaapana_longhorn_snapshot_schedule": "0 1 * * *", "kaapana_longhorn_snapshot_retain": 5,
          "kaapana_longhorn_backup_schedule": "30 1 * * *", "kaapana_longhorn_backup_retain": 10}


def _longhorn_values(lab):
    res = subprocess.run([lab.helm, "--kubeconfig", lab.kubeconfig, "-n", "longhorn-system", "get", "values",
                          "longhorn", "-o", "json"], capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


def _recurring_jobs(lab):
    res = lab.kubectl_run("-n", "longhorn-system", "get", "recurringjobs.longhorn.io", "-o", "json", check=False)
    items = json.loads(res.stdout)["items"] if res.returncode == 0 else []
    return {j["metadata"]["name"]: (j["spec"]["task"], j["spec"]["cron"], j["spec"]["retain"], j["spec"]["groups"])
            for j in items}


def test_longhorn_backup_settings_longhorn_refuses_fail_before_any_change(lab, cluster):
    values = _longhorn_values(lab)
    res = run_playbook(lab, "playbooks/storage.yml", cluster["inventory"], extra_vars=dict(
        INSTANCE_A, kaapana_longhorn_backup_target="http://backup.lab.invalid/longhorn",
        kaapana_longhorn_backup_schedule="0 2 * * *"))
    out = res.stdout + res.stderr
    assert res.returncode == 2, out[-4000:]
    assert ("kaapana_longhorn_backup_target: Longhorn does not support the protocol 'http' of "
            "http://backup.lab.invalid/longhorn" in out and "Nothing was changed" in out), out[-4000:]
    assert "Install the Longhorn release" not in out
    assert all(c["changed"] == 0 for c in recap(res.stdout).values()), changed_tasks(res.stdout)
    assert _longhorn_values(lab) == values and _recurring_jobs(lab) == {}


@pytest.mark.reliability('secrets', 'Longhorn backups: the S3 secret key is in no output line at -v (only in the '
                                    'credentials Secret); the target available; second run changes nothing')
def test_longhorn_backup_target_and_recurring_jobs(lab, cluster):
    res = run_playbook(lab, "playbooks/storage.yml", cluster["inventory"], extra_vars=dict(INSTANCE_A, **BACKUP),
                       extra_args=["-v"])
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-6000:]
    assert BACKUP_KEY not in out
    # The chart's Longhorn 1.8+ keys, the credentials only by the Secret's name.
    values = _longhorn_values(lab)
    assert values["defaultBackupStore"] == {"backupTarget": BACKUP["kaapana_longhorn_backup_target"],
                                            "backupTargetCredentialSecret": "kaapana-longhorn-backup",
                                            "pollInterval": 300}, values
    assert "backupTarget" not in values.get("defaultSettings", {})
    secret = json.loads(lab.kubectl_run("-n", "longhorn-system", "get", "secret", "kaapana-longhorn-backup", "-o",
                                        "json").stdout)
    assert base64.b64decode(secret["data"]["AWS_SECRET_ACCESS_KEY"]).decode() == BACKUP_KEY
    # longhorn-manager (its lab stand-in) made the BackupTarget from the chart's ConfigMap and can use it.
    target = json.loads(lab.kubectl_run("-n", "longhorn-system", "get", "backuptargets.longhorn.io", "default", "-o",
                                        "json").stdout)
    assert (target["spec"]["backupTargetURL"], target["spec"]["credentialSecret"], target["status"]["available"]) == (
        BACKUP["kaapana_longhorn_backup_target"], "kaapana-longhorn-backup", True), target
    assert _recurring_jobs(lab) == {"kaapana-snapshot": ("snapshot", "0 1 * * *", 5, ["default"]),
                                    "kaapana-backup": ("backup", "30 1 * * *", 10, ["default"])}
    # Second run: nothing changes.
    res = run_playbook(lab, "playbooks/storage.yml", cluster["inventory"], extra_vars=dict(INSTANCE_A, **BACKUP))
    assert res.returncode == 0, res.stdout[-4000:]
    assert all(c["changed"] == 0 for c in recap(res.stdout).values()), changed_tasks(res.stdout)
    # Check mode without the backup job: it would remove it, and removes nothing.
    res = run_playbook(lab, "playbooks/storage.yml", cluster["inventory"], extra_args=["--check"],
                       extra_vars=dict(INSTANCE_A, **dict(BACKUP, kaapana_longhorn_backup_schedule="")))
    assert res.returncode == 0, res.stdout[-4000:]
    assert "Remove Kaapana's recurring jobs whose schedule is empty" in "\n".join(changed_tasks(res.stdout))
    assert "kaapana-backup" in _recurring_jobs(lab)


@pytest.mark.reliability('isolation', 'instances a and b side by side: both ready; undeploying b leaves a ready and its data intact')
def test_undeploying_instance_b_leaves_instance_a_ready(lab, cluster):
    node_exec(lab, NODES[0], "sh", "-c", "mkdir -p /home/kaapana-a/dicom && "
              "head -c 32768 /dev/urandom > /home/kaapana-a/dicom/study.dcm")
    before = _data_digest(lab, "a")
    assert "study.dcm" in before
    res = run_playbook(lab, "playbooks/deploy.yml", cluster["inventory"], extra_vars=INSTANCE_B)
    assert res.returncode == 0, res.stdout[-4000:]
    both = NAMESPACES["a"][:3] + NAMESPACES["b"][:3]
    not_ready = pods_not_ready(lab, both)
    assert not not_ready, not_ready
    assert _recorded_values(lab, "b-default")["instance_uid"] == "b"

    res = run_playbook(lab, "playbooks/undeploy.yml", cluster["inventory"], extra_vars=INSTANCE_B)
    assert res.returncode == 0, res.stdout[-4000:]
    assert not _live_platform_pods(lab, "b"), _live_platform_pods(lab, "b")
    not_ready = pods_not_ready(lab, NAMESPACES["a"][:3])
    assert not not_ready, not_ready
    assert _recorded_values(lab, "a-default")["instance_uid"] == "a"
    assert _data_digest(lab, "a") == before


def _slow_claim(lab):
    """The MinIO claim of instance a (kaapana-longhorn-slow-data: sized by kaapana_volume_slow_data), its volume
    and that volume's Longhorn size."""
    claim = json.loads(lab.kubectl_run("-n", "a-services", "get", "pvc", "minio-pv-claim", "-o", "json").stdout)
    pv = json.loads(lab.kubectl_run("get", "pv", claim["spec"]["volumeName"], "-o", "json").stdout)
    volume = next(v for v in _longhorn_volumes(lab) if v["metadata"]["name"] == pv["spec"]["csi"]["volumeHandle"])
    return {"request": claim["spec"]["resources"]["requests"]["storage"],
            "capacity": claim["status"].get("capacity", {}).get("storage"), "pv": pv["metadata"]["name"],
            "pv_capacity": pv["spec"]["capacity"]["storage"], "longhorn_size": volume["spec"]["size"],
            "uid": claim["metadata"]["uid"]}


@pytest.mark.reliability('data safety', 'Longhorn + INSTANCE_UID: undeploy leaves no platform pod and the data intact; redeploy works')
def test_undeploy_then_redeploy_instance_a(lab, cluster):
    before = _data_digest(lab, "a")
    assert "study.dcm" in before
    res = run_playbook(lab, "playbooks/undeploy.yml", cluster["inventory"], extra_vars=INSTANCE_A)
    assert res.returncode == 0, res.stdout[-4000:]
    assert not _live_platform_pods(lab, "a"), _live_platform_pods(lab, "a")
    assert _data_digest(lab, "a") == before
    res = run_playbook(lab, "playbooks/redeploy.yml", cluster["inventory"], extra_vars=INSTANCE_A)
    assert res.returncode == 0, res.stdout[-4000:]
    not_ready = pods_not_ready(lab, NAMESPACES["a"][:3])
    assert not not_ready, not_ready
    assert _data_digest(lab, "a") == before


@pytest.mark.reliability('data safety', 'a larger kaapana_volume_slow_data grows the deployed Longhorn volume in place '
                         '(same claim, same volume, data intact); a smaller one is refused before any change')
def test_a_larger_slow_data_volume_grows_in_place(lab, cluster):
    # A deploy over the running platform: Kaapana's releases are not upgraded (install-only), so without the
    # collection's patch nothing would ever grow the kept claims.
    before = _data_digest(lab, "a")
    claim = _slow_claim(lab)
    assert claim["request"] == "100Gi", claim
    res = run_playbook(lab, "playbooks/deploy.yml", cluster["inventory"],
                       extra_vars=dict(INSTANCE_A, kaapana_volume_slow_data="150Gi"))
    assert res.returncode == 0, res.stdout[-4000:]
    assert "Raise the slow-data claims' requests" in "\n".join(changed_tasks(res.stdout)), changed_tasks(res.stdout)
    # Longhorn's resizer expanded the volume online; the kubelet grew the file system under MinIO's running pod.
    deadline = time.time() + 60
    grown = _slow_claim(lab)
    while grown["capacity"] != "150Gi" and time.time() < deadline:
        time.sleep(2)
        grown = _slow_claim(lab)
    assert (grown["uid"], grown["pv"]) == (claim["uid"], claim["pv"]), (claim, grown)
    assert (grown["request"], grown["pv_capacity"], grown["capacity"], grown["longhorn_size"]) == (
        "150Gi", "150Gi", "150Gi", str(150 * 2 ** 30)), grown
    assert _data_digest(lab, "a") == before
    assert not pods_not_ready(lab, NAMESPACES["a"][:3])


def test_a_smaller_slow_data_volume_is_refused_before_any_change(lab, cluster):
    # Kubernetes cannot shrink a volume: the inventory's 100Gi is now less than the grown claim's 150Gi.
    claim = _slow_claim(lab)
    res = run_playbook(lab, "playbooks/deploy.yml", cluster["inventory"], extra_vars=INSTANCE_A)
    assert_rejected(res, ["kaapana_volume_slow_data is 100Gi", "a-services/minio-pv-claim", "cannot shrink",
                          "150Gi or more", "Nothing was changed"], not_reached=["Install the platform chart"])
    assert _slow_claim(lab) == claim


def _helm_releases(lab):
    return sorted((r["namespace"], r["name"], r["status"], r["revision"]) for r in helm_releases(lab, "--all-namespaces"))


@pytest.mark.reliability('data safety', 'Longhorn holding a volume: uninstall.yml without a purge fails before any change, '
                         'the volume and its file intact; with the purge confirmed it removes them')
def test_uninstall_keeps_longhorn_volumes_unless_purged(lab, cluster):
    # The MinIO volume of instance a (kaapana-longhorn-slow-data, Retain) gets a file of known checksum in its replica.
    volume = next(v for v in _longhorn_volumes(lab)
                  if v["status"].get("kubernetesStatus", {}).get("pvcName") == "minio-pv-claim"
                  and v["status"]["kubernetesStatus"].get("namespace") == "a-services")
    node, replica = volume["metadata"]["annotations"]["kaapana.lab/replica"].split(":", 1)
    node_exec(lab, node, "sh", "-c", "head -c 65536 /dev/urandom > %s/volume-head.img" % replica)
    replica_before = data_digest(lab, node, replica)
    assert "volume-head.img" in replica_before
    volumes_before = sorted(v["metadata"]["name"] for v in _longhorn_volumes(lab))
    releases_before = _helm_releases(lab)
    data_before = _data_digest(lab, "a")

    # Without a purge: refused before anything changed, naming the volume and its PVC.
    res = run_playbook(lab, "playbooks/uninstall.yml", cluster["inventory"], extra_vars=INSTANCE_A)
    output = res.stdout + res.stderr
    assert res.returncode != 0, output[-4000:]
    assert "would delete every Longhorn volume" in output, output[-4000:]
    assert "%s (PVC a-services/minio-pv-claim)" % volume["metadata"]["name"] in output, output[-4000:]
    assert "Nothing was changed" in output, output[-4000:]
    assert _helm_releases(lab) == releases_before
    assert sorted(v["metadata"]["name"] for v in _longhorn_volumes(lab)) == volumes_before
    assert data_digest(lab, node, replica) == replica_before
    assert _data_digest(lab, "a") == data_before
    for name in NODES:
        assert "microk8s" in node_exec(lab, name, "snap", "list").stdout

    # With the purge confirmed (the other owners' volumes deleted by hand first): volume, data and Longhorn go.
    # Instance a is undeployed (no purge) before its admin namespace goes: the releases kube-helm installed live
    # there, and deleting it under them would leave their pods behind with no release to uninstall.
    res = run_playbook(lab, "playbooks/undeploy.yml", cluster["inventory"], extra_vars=dict(
        INSTANCE_B, kaapana_purge_data=True, kaapana_purge_confirm=INSTANCE_B["kaapana_domain"]))
    assert res.returncode == 0, (res.stdout + res.stderr)[-6000:]
    res = run_playbook(lab, "playbooks/undeploy.yml", cluster["inventory"], extra_vars=INSTANCE_A)
    assert res.returncode == 0, (res.stdout + res.stderr)[-6000:]
    assert data_digest(lab, node, replica) == replica_before
    _delete_shared_volumes(lab)
    res = run_playbook(lab, "playbooks/uninstall.yml", cluster["inventory"], extra_vars=dict(
        INSTANCE_A, kaapana_purge_data=True, kaapana_purge_confirm=INSTANCE_A["kaapana_domain"]))
    assert res.returncode == 0, (res.stdout + res.stderr)[-6000:]
    cluster["uninstalled"] = True
    assert not _longhorn_volumes(lab)
    assert data_digest(lab, node, replica) == ""
    assert _data_digest(lab, "a") == ""
    assert not [r for r in _helm_releases(lab) if r[0] in ("longhorn-system", "a-default", "a-admin")]
