"""Unit tests of the lab provisioner's stand-in for longhorn-manager's node registration, volumes, default backup
target and recurring jobs (lab/standins/provisioner.py: longhorn_node_manifest, Provisioner.register_longhorn_nodes,
Provisioner.longhorn_volumes, Provisioner.longhorn_backup_targets, Provisioner.longhorn_recurring_jobs and the pure
longhorn_* functions), with in-memory fakes of the CoreV1, BatchV1 and CustomObjects APIs."""
import base64
import copy
import importlib.machinery
import importlib.util
import logging
import os
import re

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROVISIONER = os.path.join(ROOT, "lab", "standins", "provisioner.py")


def load():
    loader = importlib.machinery.SourceFileLoader("provisioner_longhorn_standin", PROVISIONER)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


P = load()


def pod(name, namespace, node, deleting=False):
    return client.V1Pod(metadata=client.V1ObjectMeta(name=name, namespace=namespace,
                                                     deletion_timestamp="2026-01-01T00:00:00Z" if deleting else None),
                        spec=client.V1PodSpec(containers=[], node_name=node))


class Core:
    def __init__(self, pods, nodes):
        self.pods, self.nodes, self.selectors = pods, nodes, []

    def list_pod_for_all_namespaces(self, label_selector=None):
        self.selectors.append(label_selector)
        return client.V1PodList(items=self.pods)

    def read_node(self, name):
        if name not in self.nodes:
            raise ApiException(status=404, reason="Not Found")
        return client.V1Node(metadata=client.V1ObjectMeta(name=name, labels=self.nodes[name]))


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch, as the API server applies the custom objects API's patches."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge_patch(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


class Custom:
    """longhorn.io/v1beta2 objects by plural; a namespace without the CRDs answers 404."""

    def __init__(self, crd_namespaces, settings=None):
        self.objects = {ns: {"nodes": {}, "settings": dict(settings or {}), "volumes": {}, "backuptargets": {},
                             "recurringjobs": {}} for ns in crd_namespaces}
        self.status = {}
        self.calls = []

    def _ns(self, group, version, namespace):
        assert (group, version) == ("longhorn.io", "v1beta2")
        if namespace not in self.objects:
            raise ApiException(status=404, reason="Not Found")
        return self.objects[namespace]

    def list_namespaced_custom_object(self, group, version, namespace, plural):
        self.calls.append(("list", namespace, plural))
        return {"items": list(self._ns(group, version, namespace)[plural].values())}

    def get_namespaced_custom_object(self, group, version, namespace, plural, name):
        store = self._ns(group, version, namespace)[plural]
        if name not in store:
            raise ApiException(status=404, reason="Not Found")
        return store[name]

    def create_namespaced_custom_object(self, group, version, namespace, plural, body):
        store = self._ns(group, version, namespace)[plural]
        if body["metadata"]["name"] in store:
            raise ApiException(status=409, reason="Conflict")
        store[body["metadata"]["name"]] = copy.deepcopy(body)
        self.calls.append(("create", namespace, body["metadata"]["name"]))
        return body

    def patch_namespaced_custom_object_status(self, group, version, namespace, plural, name, body):
        self.status[(namespace, name)] = body
        store = self.objects.get(namespace, {}).get(plural, {})
        if name in store:
            merge_patch(store[name], copy.deepcopy(body))
        self.calls.append(("status", namespace, name))
        return body

    def patch_namespaced_custom_object(self, group, version, namespace, plural, name, body):
        store = self._ns(group, version, namespace)[plural]
        if name not in store:
            raise ApiException(status=404, reason="Not Found")
        merge_patch(store[name], body)
        self.calls.append(("patch", namespace, name))
        if store[name]["metadata"].get("deletionTimestamp") and not store[name]["metadata"].get("finalizers"):
            del store[name]  # the API server removes an object whose last finalizer went
        return body

    def delete_namespaced_custom_object(self, group, version, namespace, plural, name):
        store = self._ns(group, version, namespace)[plural]
        if name not in store:
            raise ApiException(status=404, reason="Not Found")
        if store[name]["metadata"].get("finalizers"):
            store[name]["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        else:
            del store[name]
        self.calls.append(("delete", namespace, name))


def provisioner(core, custom, jobs=()):
    prov = P.Provisioner.__new__(P.Provisioner)
    prov.core, prov.custom, prov.batch = core, custom, Batch(jobs)
    return prov


def setting(name, value):
    return {"apiVersion": "longhorn.io/v1beta2", "kind": "Setting", "metadata": {"name": name}, "value": value}


def test_manifest_is_what_longhorn_manager_registers():
    manifest = P.longhorn_node_manifest("lh-main", "longhorn-system")
    fsid = P.longhorn_fsid("lh-main")
    assert fsid == P.longhorn_fsid("lh-main") and fsid != P.longhorn_fsid("lh-worker-1")
    assert len(fsid) == 8 and int(fsid, 16) >= 0
    assert manifest["apiVersion"] == "longhorn.io/v1beta2" and manifest["kind"] == "Node"
    assert manifest["metadata"]["name"] == "lh-main" and manifest["metadata"]["namespace"] == "longhorn-system"
    assert "finalizers" not in manifest["metadata"]  # nothing would remove them in the lab
    spec = manifest["spec"]
    assert spec["name"] == "lh-main" and spec["allowScheduling"] is True
    assert spec["disks"] == {"default-disk-" + fsid: {
        "path": "/var/lib/longhorn/", "allowScheduling": True, "evictionRequested": False, "storageReserved": 0,
        "diskType": "filesystem", "tags": []}}
    assert P.longhorn_node_manifest("n", "ns", default_disk=False)["spec"]["disks"] == {}
    status = P.longhorn_node_status(manifest)["status"]
    assert {c["type"]: c["status"] for c in status["conditions"]}["Ready"] == "True"
    assert list(status["diskStatus"]) == ["default-disk-" + fsid]


def test_registers_one_node_per_manager_pod_in_its_namespace():
    core = Core([pod("m-1", "longhorn-system", "lh-main"), pod("m-2", "longhorn-system", "lh-worker-1"),
                 pod("ui", "longhorn-system", None)],
                {"lh-main": {}, "lh-worker-1": {}, "lab-pool-0": {}})
    custom = Custom(["longhorn-system"], {"default-data-path": setting("default-data-path", "/data/longhorn/")})
    prov = provisioner(core, custom)
    assert prov.register_longhorn_nodes() == ["longhorn-system/lh-main", "longhorn-system/lh-worker-1"]
    assert core.selectors == ["app=longhorn-manager"]
    nodes = custom.objects["longhorn-system"]["nodes"]
    assert sorted(nodes) == ["lh-main", "lh-worker-1"]  # not lab-pool-0: no manager pod runs there
    disk = nodes["lh-main"]["spec"]["disks"]["default-disk-" + P.longhorn_fsid("lh-main")]
    assert disk["path"] == "/data/longhorn/"
    assert ("longhorn-system", "lh-main") in custom.status
    # second pass: nothing new, and an object changed by a user (Kaapana's disk tags) is left alone
    nodes["lh-main"]["spec"]["disks"]["default-disk-" + P.longhorn_fsid("lh-main")]["tags"] = ["fast-data"]
    assert prov.register_longhorn_nodes() == []
    assert nodes["lh-main"]["spec"]["disks"]["default-disk-" + P.longhorn_fsid("lh-main")]["tags"] == ["fast-data"]


def test_nothing_without_manager_pods_or_crd():
    core = Core([], {"lh-main": {}})
    custom = Custom(["longhorn-system"])
    assert provisioner(core, custom).register_longhorn_nodes() == []
    assert custom.calls == []  # no manager pod: the CRD is not even looked at
    core = Core([pod("m-1", "longhorn-system", "lh-main")], {"lh-main": {}})
    custom = Custom([])  # CRD missing: 404
    assert provisioner(core, custom).register_longhorn_nodes() == []


def test_skips_terminating_pods_and_vanished_nodes():
    core = Core([pod("m-1", "longhorn-system", "lh-main", deleting=True), pod("m-2", "longhorn-system", "gone")],
                {"lh-main": {}})
    custom = Custom(["longhorn-system"])
    assert provisioner(core, custom).register_longhorn_nodes() == []
    assert custom.objects["longhorn-system"]["nodes"] == {}


@pytest.mark.parametrize("labels, disks", [({}, 0), ({"node.longhorn.io/create-default-disk": "true"}, 1)])
def test_create_default_disk_labeled_nodes(labels, disks):
    core = Core([pod("m-1", "lh", "n1")], {"n1": labels})
    custom = Custom(["lh"], {"create-default-disk-labeled-nodes": setting("create-default-disk-labeled-nodes", "true")})
    provisioner(core, custom).register_longhorn_nodes()
    assert len(custom.objects["lh"]["nodes"]["n1"]["spec"]["disks"]) == disks


def test_sync_runs_the_registration_and_survives_api_errors():
    class Failing(Core):
        def list_pod_for_all_namespaces(self, label_selector=None):
            raise ApiException(status=500, reason="boom")

    class Storage:
        def list_storage_class(self):
            return client.V1StorageClassList(items=[])

        def list_csi_driver(self):
            return client.V1CSIDriverList(items=[])

        def list_volume_attachment(self):
            return client.V1VolumeAttachmentList(items=[])

    class CoreEmpty(Failing):
        def list_persistent_volume(self):
            return client.V1PersistentVolumeList(items=[])

        def list_persistent_volume_claim_for_all_namespaces(self):
            return client.V1PersistentVolumeClaimList(items=[])

    prov = provisioner(CoreEmpty([], {}), Custom([]))
    prov.storage = Storage()
    prov.sync()  # logs the 500 and returns


class VolumeCore(Core):
    def __init__(self, pods, pvs, claims=None):
        super().__init__(pods, {})
        self.pvs, self.claims = pvs, dict(claims or {})

    def list_persistent_volume(self):
        return client.V1PersistentVolumeList(items=self.pvs)

    def read_namespaced_persistent_volume_claim(self, name, namespace):
        if (namespace, name) not in self.claims:
            raise ApiException(status=404, reason="Not Found")
        return client.V1PersistentVolumeClaim(metadata=client.V1ObjectMeta(
            name=name, namespace=namespace, labels=self.claims[(namespace, name)]))


class Batch:
    def __init__(self, jobs=()):
        self.jobs = set(jobs)

    def read_namespaced_job(self, name, namespace):
        if (namespace, name) not in self.jobs:
            raise ApiException(status=404, reason="Not Found")
        return client.V1Job()


def longhorn_pv(name, namespace, claim):
    return client.V1PersistentVolume(
        metadata=client.V1ObjectMeta(name=name, annotations={"kaapana.lab/standin": "provisioner"}),
        spec=client.V1PersistentVolumeSpec(
            capacity={"storage": "5Gi"}, claim_ref=client.V1ObjectReference(namespace=namespace, name=claim),
            csi=client.V1CSIPersistentVolumeSource(driver="driver.longhorn.io", volume_handle=name,
                                                   volume_attributes={"numberOfReplicas": "2"})),
        status=client.V1PersistentVolumeStatus(phase="Bound"))


def volume_provisioner(pvs, jobs=()):
    core = VolumeCore([pod("m-1", "longhorn-system", "lh-main"), pod("m-2", "longhorn-system", "lh-worker-1")], pvs)
    custom = Custom(["longhorn-system"])
    prov = provisioner(core, custom)
    prov.batch = Batch(jobs)
    prov.execs = []
    prov.node_exec = lambda node, argv: prov.execs.append((node, argv))
    return prov, custom


def test_each_longhorn_pv_gets_a_volume_with_its_pvc_and_a_replica():
    prov, custom = volume_provisioner([longhorn_pv("pvc-1", "services", "minio-pv-claim")])
    prov.longhorn_volumes()
    volume = custom.objects["longhorn-system"]["volumes"]["pvc-1"]
    assert volume["metadata"]["finalizers"] == ["longhorn.io"]
    assert volume["spec"]["numberOfReplicas"] == 2 and volume["spec"]["size"] == "5Gi"
    status = custom.status[("longhorn-system", "pvc-1")]["status"]["kubernetesStatus"]
    assert (status["namespace"], status["pvcName"], status["pvName"]) == ("services", "minio-pv-claim", "pvc-1")
    node, replica = volume["metadata"]["annotations"]["kaapana.lab/replica"].split(":", 1)
    assert node == "lh-main" and replica.startswith("/var/lib/longhorn/replicas/pvc-1-")
    assert prov.execs == [("lh-main", ["mkdir", "-p", replica])]
    prov.longhorn_volumes()  # once only
    assert len(prov.execs) == 1


def test_a_deleted_volume_loses_its_replicas_then_its_finalizer():
    prov, custom = volume_provisioner([longhorn_pv("pvc-1", "services", "minio-pv-claim")])
    prov.longhorn_volumes()
    custom.delete_namespaced_custom_object("longhorn.io", "v1beta2", "longhorn-system", "volumes", "pvc-1")
    assert "pvc-1" in custom.objects["longhorn-system"]["volumes"]  # held by the finalizer
    prov.core.pvs = []
    prov.longhorn_volumes()
    assert "pvc-1" not in custom.objects["longhorn-system"]["volumes"]
    removed = [argv for _node, argv in prov.execs if argv[0] == "sh"]
    assert len(removed) == 2 and all("rm -rf /var/lib/longhorn/replicas/pvc-1-*" in argv[-1] for argv in removed)


def test_the_uninstall_job_deletes_every_volume_of_its_namespace():
    pvs = [longhorn_pv("pvc-1", "services", "minio-pv-claim"), longhorn_pv("pvc-2", "default", "foreign")]
    prov, custom = volume_provisioner(pvs)
    prov.longhorn_volumes()
    assert sorted(custom.objects["longhorn-system"]["volumes"]) == ["pvc-1", "pvc-2"]
    prov.batch = Batch([("longhorn-system", "longhorn-uninstall")])
    prov.longhorn_volumes()  # deletes (deletionTimestamp) and creates none
    prov.longhorn_volumes()  # finalizes
    assert custom.objects["longhorn-system"]["volumes"] == {}
    assert ("delete", "longhorn-system", "pvc-1") in custom.calls and ("delete", "longhorn-system", "pvc-2") in custom.calls


# ---------------------------------------------------------------------------------------------------------------------
# longhorn-manager's default backup target (ConfigMap longhorn-default-resource -> BackupTarget "default")
# ---------------------------------------------------------------------------------------------------------------------
NS = "longhorn-system"
S3_URL = "s3://kaapana-backups@us-east-1/kaapana"
SECRET_VALUE = "Zq9-very-secret-key"


def b64(text):
    return base64.b64encode(text.encode()).decode()


def s3_secret(**values):
    return {key: b64(value) for key, value in values.items()}


def running_manager(name, node, uid, namespace=NS, state="running"):
    """A longhorn-manager pod whose container runs (KWOK started it), or waits (crash-looping)."""
    container_state = client.V1ContainerState(
        running=client.V1ContainerStateRunning() if state == "running" else None,
        waiting=client.V1ContainerStateWaiting(reason="CrashLoopBackOff") if state != "running" else None)
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, namespace=namespace, uid=uid, annotations={}),
        spec=client.V1PodSpec(node_name=node, containers=[client.V1Container(
            name="longhorn-manager", image="longhornio/longhorn-manager:v1.10.1",
            args=["longhorn-manager", "-d", "daemon", "--engine-image", "longhornio/longhorn-engine:v1.10.1"])]),
        status=client.V1PodStatus(phase="Running", container_statuses=[client.V1ContainerStatus(
            name="longhorn-manager", image="longhornio/longhorn-manager:v1.10.1", image_id="", ready=state == "running",
            restart_count=0, state=container_state)]))


class BackupCore(Core):
    """Pods, the ConfigMap longhorn-default-resource and Secrets; pod (status) patches change the pods."""

    def __init__(self, pods, text=None, secrets=None):
        super().__init__(pods, {})
        self.configmap, self.version, self.secrets, self.pod_patches = None, 0, dict(secrets or {}), []
        if text is not None:
            self.set_configmap(text)

    def set_configmap(self, text):
        """The chart's ConfigMap, as `helm install`/`helm upgrade` leaves it (a new resourceVersion per change)."""
        self.version += 1
        self.configmap = client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="longhorn-default-resource", namespace=NS, uid="cm-uid",
                                         resource_version=str(self.version)),
            data={"default-resource.yaml": text})

    def read_namespaced_config_map(self, name, namespace):
        if name != "longhorn-default-resource" or self.configmap is None:
            raise ApiException(status=404, reason="Not Found")
        return self.configmap

    def read_namespaced_secret(self, name, namespace):
        if (namespace, name) not in self.secrets:
            raise ApiException(status=404, reason="Not Found")
        return client.V1Secret(metadata=client.V1ObjectMeta(name=name, namespace=namespace),
                               data=self.secrets[(namespace, name)])

    def _pod(self, name, namespace):
        return next(p for p in self.pods if (p.metadata.name, p.metadata.namespace) == (name, namespace))

    def patch_namespaced_pod(self, name, namespace, body):
        pod = self._pod(name, namespace)
        for key, value in body["metadata"]["annotations"].items():
            if value is None:
                pod.metadata.annotations.pop(key, None)
            else:
                pod.metadata.annotations[key] = value
        self.pod_patches.append(("pod", name, body))

    def patch_namespaced_pod_status(self, name, namespace, body):
        pod = self._pod(name, namespace)
        state = body["status"]["containerStatuses"][0]["state"]
        waiting = state.get("waiting")
        status = body["status"]["containerStatuses"][0]
        pod.status.container_statuses[0].state = client.V1ContainerState(
            waiting=client.V1ContainerStateWaiting(reason=waiting["reason"]) if waiting else None,
            running=client.V1ContainerStateRunning() if state.get("running") else None)
        pod.status.container_statuses[0].ready = status["ready"]
        self.pod_patches.append(("status", name, body))


def backup_provisioner(pods, text="", secrets=None, crd=True, jobs=()):
    core = BackupCore(pods, text, secrets)
    custom = Custom([NS] if crd else [])
    return provisioner(core, custom, jobs), core, custom


def target(custom, name="default"):
    return custom.objects[NS]["backuptargets"].get(name)


def test_go_durations_as_metav1_duration_writes_and_reads_them():
    assert [P.go_duration(s) for s in (300, 0, 60, 90, 3600, 3661, 45, -300)] == [
        "5m0s", "0s", "1m0s", "1m30s", "1h0m0s", "1h1m1s", "45s", "-5m0s"]
    assert P.parse_go_duration("5m0s") == 300 and P.parse_go_duration("300s") == 300
    assert P.parse_go_duration("1h") == 3600 and P.parse_go_duration("1.5m") == 90 and P.parse_go_duration("0") == 0
    assert P.parse_go_duration("-2m") == -120 and P.parse_go_duration("100ms") == 0.1
    for bad in ("", "300", "5 m", "m", ".s", "5x", None):
        assert P.parse_go_duration(bad) is None


def test_the_configmap_is_read_as_yaml_v2_reads_it_into_a_string_map():
    assert P.longhorn_default_resource("") == {}
    assert P.longhorn_default_resource(
        "backup-target: s3://bk@us-east-1/\nbackup-target-credential-secret: s3-secret\nbackupstore-poll-interval: 300") \
        == {"backup-target": "s3://bk@us-east-1/", "backup-target-credential-secret": "s3-secret",
            "backupstore-poll-interval": "300"}
    # a number stays as written (yaml.v2 hands a string field the scalar's text); null and empty are ""
    assert P.longhorn_default_resource("backupstore-poll-interval: 0300\nbackup-target:\nbackup-target-credential-secret: ~") \
        == {"backupstore-poll-interval": "0300", "backup-target": "", "backup-target-credential-secret": ""}
    assert P.longhorn_default_resource("backup-target: 'nfs://srv:/x'") == {"backup-target": "nfs://srv:/x"}
    for bad in ("backup-target: [a, b]", "- a", "backup-target: nfs://a: b: c", "backup-target: {a: 1}"):
        with pytest.raises(ValueError, match="^yaml: "):
            P.longhorn_default_resource(bad)


def test_spec_of_a_new_default_backup_target():
    assert P.longhorn_backup_target_spec({}) == {
        "backupTargetURL": "", "credentialSecret": "", "pollInterval": "5m0s", "syncRequestedAt": None}
    assert P.longhorn_backup_target_spec({"backup-target": S3_URL, "backup-target-credential-secret": "s3-secret",
                                          "backupstore-poll-interval": "60"}) == {
        "backupTargetURL": S3_URL, "credentialSecret": "s3-secret", "pollInterval": "1m0s", "syncRequestedAt": None}
    # an empty poll interval is Longhorn's default; one ParseInt refuses fails the sync
    assert P.longhorn_backup_target_spec({"backupstore-poll-interval": ""})["pollInterval"] == "5m0s"
    for bad in ("5m", "300.0", "abc"):
        with pytest.raises(ValueError, match='strconv.ParseInt: parsing "%s": invalid syntax' % bad):
            P.longhorn_backup_target_spec({"backupstore-poll-interval": bad})


def test_update_of_an_existing_default_backup_target_overwrites_only_the_configmaps_keys():
    edited = {"backupTargetURL": "nfs://nfs.example:/export", "credentialSecret": "nfs-secret", "pollInterval": "10m",
              "syncRequestedAt": None}
    # no key in the ConfigMap (the chart's defaults): whatever a user set stays
    assert P.longhorn_backup_target_spec({}, edited) is None
    # the URL key only: the URL is overwritten, secret and poll interval stay
    spec = P.longhorn_backup_target_spec({"backup-target": S3_URL}, edited, now="2026-01-01T00:00:00Z")
    assert spec == {"backupTargetURL": S3_URL, "credentialSecret": "nfs-secret", "pollInterval": "10m0s",
                    "syncRequestedAt": "2026-01-01T00:00:00Z"}
    # a key with an empty value is there: it clears the field
    assert P.longhorn_backup_target_spec({"backup-target": ""}, edited)["backupTargetURL"] == ""
    # the same values (a duration written another way counts as the same): nothing to do
    same = {"backup-target": "nfs://nfs.example:/export", "backupstore-poll-interval": "600"}
    assert P.longhorn_backup_target_spec(same, edited) is None
    assert P.longhorn_backup_target_spec({"backupstore-poll-interval": "300"}, {"pollInterval": "300s"}) is None
    assert P.longhorn_backup_target_spec({"backupstore-poll-interval": "300"}, {})["pollInterval"] == "5m0s"


@pytest.mark.parametrize("url, message", [
    ("http://minio:9000/backups", "url http://minio:9000/backups with the unsupported protocol http"),
    ("backups", "url backups with the unsupported protocol "),
    ("s3://bk@us-east-1/a$b,c", "url s3://bk@us-east-1/a$b,c, contains $ or ,"),
    ("nfs://srv:/export,x", "url nfs://srv:/export,x, contains ,"),
    ("cifs://srv/share$/a,b", "url cifs://srv/share$/a,b, contains ,"),
    ("nfs://srv:abc/export", 'failed to parse nfs://srv:abc/export as url: parse "nfs://srv:abc/export": invalid port '
                             '":abc" after host'),
    ("nfs://other:/export/", "url nfs://other:/export/ is the same to backup target second"),
    ("", None), (S3_URL, None), ("nfs://srv:/export?nfsOptions=soft,timeo=150", None), ("cifs://srv/share$/a", None),
    ("azblob://container@core.windows.net/kaapana", None), ("NFS://srv:/export", None),
])
def test_admission_of_the_backup_target_url_as_longhorns_webhook(url, message):
    others = [("default", ""), ("second", "nfs://OTHER:/export")]
    assert P.longhorn_backup_target_admission("default", {"backupTargetURL": url}, None, None, others) == message
    # an update checks the URL only when it changes
    assert P.longhorn_backup_target_admission("default", {"backupTargetURL": url}, {"backupTargetURL": url}) is None


def test_admission_of_the_name_and_the_credential_secret():
    assert P.longhorn_backup_target_admission("Default", {}) == "invalid name Default"
    assert P.longhorn_backup_target_admission("x", {}) == "invalid name x"
    spec = {"backupTargetURL": S3_URL, "credentialSecret": "s3-secret"}
    clean = s3_secret(AWS_ACCESS_KEY_ID="AKIA", AWS_SECRET_ACCESS_KEY=SECRET_VALUE)
    assert P.longhorn_backup_target_admission("default", spec, None, clean) is None
    # `echo secret | base64` puts a newline into the value: the webhook refuses the secret
    dirty = s3_secret(AWS_ACCESS_KEY_ID=" AKIA", AWS_SECRET_ACCESS_KEY=SECRET_VALUE + "\n")
    message = P.longhorn_backup_target_admission("default", spec, None, dirty)
    assert message == ("credential validation error(s): invalid leading whitespace in AWS_ACCESS_KEY_ID; "
                       "invalid trailing newline in AWS_SECRET_ACCESS_KEY")
    assert SECRET_VALUE not in message
    # the secret is checked when it is new or changed, not when only the URL changes
    assert P.longhorn_backup_target_admission("default", spec, dict(spec, backupTargetURL=""), dirty) is None
    assert P.longhorn_backup_target_admission("default", spec, dict(spec, credentialSecret="old"), dirty) == message
    # a secret that does not exist (yet) passes the webhook
    assert P.longhorn_backup_target_admission("default", spec, None, None) is None


ENGINE = "failed to init backup target clients: failed to get default backup target client on " \
         "longhornio/longhorn-engine:v1.10.1: "


def listing(url):
    return "failed to list system backups in %s: error listing system backup in %s: " % (url, url)


@pytest.mark.parametrize("url, secret_name, secret, available, message", [
    ("", "", None, False, "backup target URL is empty"),
    (S3_URL, "", None, False, ENGINE + "could not access s3 without credential secret"),
    (S3_URL, "s3-secret", None, False, ENGINE + 'secret "s3-secret" not found'),
    (S3_URL, "s3-secret", {}, False, listing(S3_URL) + "could not backup to s3, missing "
                                                       "[AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY] in the secret"),
    (S3_URL, "s3-secret", s3_secret(AWS_ACCESS_KEY_ID="AKIA", AWS_SECRET_ACCESS_KEY=""), False,
     listing(S3_URL) + "could not backup to s3, missing [AWS_SECRET_ACCESS_KEY] in the secret"),
    (S3_URL, "s3-secret", s3_secret(AWS_ACCESS_KEY_ID="AKIA", AWS_SECRET_ACCESS_KEY=SECRET_VALUE,
                                    AWS_ENDPOINTS="http://minio.services:9000"), True, ""),
    (S3_URL, "s3-secret", s3_secret(AWS_IAM_ROLE_ARN="arn:aws:iam::1:role/backup"), True, ""),
    ("s3://kaapana-backups", "s3-secret", s3_secret(AWS_ACCESS_KEY_ID="AKIA", AWS_SECRET_ACCESS_KEY=SECRET_VALUE),
     False, listing("s3://kaapana-backups") + "invalid URL. Must be either s3://bucket@region/path/, or "
                                              "s3://bucket/path"),
    ("nfs://nfs.example:/export/kaapana", "", None, True, ""),
    ("nfs://nfs.example:/export/kaapana", "unused-secret", None, True, ""),
    ("nfs://nfs.example", "", None, False, listing("nfs://nfs.example") + "cannot find nfs path"),
    ("nfs:///export", "", None, False, listing("nfs:///export") + "NFS path must follow format: "
                                                                  "nfs://<server-address>:/<share-name>/"),
    ("cifs://smb.example/backups", "cifs-secret", s3_secret(CIFS_USERNAME="u", CIFS_PASSWORD="p"), True, ""),
    ("cifs://smb.example/backups", "cifs-secret", s3_secret(CIFS_USERNAME="u"), False,
     listing("cifs://smb.example/backups") + "lab stand-in: the credential secret cifs-secret has no CIFS_PASSWORD, so "
                                             "the cifs backup store refuses the login"),
    ("azblob://kaapana@core.windows.net/backups", "az-secret",
     s3_secret(AZBLOB_ACCOUNT_NAME="n", AZBLOB_ACCOUNT_KEY="k"), True, ""),
    ("http://minio:9000/b", "", None, False, listing("http://minio:9000/b") + "driver http is not supported"),
])
def test_availability_as_the_backup_target_controller_judges_it(url, secret_name, secret, available, message):
    spec = {"backupTargetURL": url, "credentialSecret": secret_name}
    assert P.longhorn_backup_target_availability("default", spec, secret) == (available, message)


def test_status_with_the_unavailable_condition():
    now, later = "2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z"
    status = P.longhorn_backup_target_status(None, False, "backup target URL is empty", "lh-main", {}, now)
    assert status == {"ownerID": "lh-main", "available": False, "lastSyncedAt": None, "conditions": [{
        "type": "Unavailable", "status": "True", "reason": "Unavailable", "message": "backup target URL is empty",
        "lastProbeTime": "", "lastTransitionTime": now}]}
    assert P.longhorn_backup_target_status(status, False, "backup target URL is empty", "lh-main", {}, later) is None
    # another reason, same condition status: the transition time stays
    other = P.longhorn_backup_target_status(status, False, "other", "lh-main", {}, later)
    assert other["conditions"][0]["lastTransitionTime"] == now and other["conditions"][0]["message"] == "other"
    ok = P.longhorn_backup_target_status(status, True, "", "lh-main", {}, later)
    assert ok["available"] is True and ok["lastSyncedAt"] == later
    assert ok["conditions"] == [{"type": "Unavailable", "status": "False", "reason": "", "message": "",
                                 "lastProbeTime": "", "lastTransitionTime": later}]
    assert P.longhorn_backup_target_status(ok, True, "", "lh-main", {}, "2026-01-02T00:00:00Z") is None
    # a sync requested after the last one (a spec update) syncs again
    again = P.longhorn_backup_target_status(ok, True, "", "lh-main", {"syncRequestedAt": "2026-01-01T00:06:00Z"},
                                            "2026-01-01T00:06:01Z")
    assert again["lastSyncedAt"] == "2026-01-01T00:06:01Z"


def test_a_starting_manager_creates_the_default_backup_target_from_the_configmap():
    prov, core, custom = backup_provisioner([running_manager("m-1", "lh-main", "u1")],
                                            "backup-target: %s\nbackup-target-credential-secret: s3-secret\n"
                                            "backupstore-poll-interval: 60" % S3_URL)
    prov.longhorn_backup_targets()
    bt = target(custom)
    assert bt["metadata"]["finalizers"] == ["longhorn.io"]  # the webhook's mutator adds it
    assert bt["spec"] == {"backupTargetURL": S3_URL, "credentialSecret": "s3-secret", "pollInterval": "1m0s",
                          "syncRequestedAt": None}
    status = bt["status"]
    assert status["available"] is False and status["ownerID"] == "lh-main"
    assert status["conditions"][0]["message"] == ENGINE + 'secret "s3-secret" not found'
    # the Secret appears: available on the next pass (the real secret controller triggers a sync)
    core.secrets[(NS, "s3-secret")] = s3_secret(AWS_ACCESS_KEY_ID="AKIA", AWS_SECRET_ACCESS_KEY=SECRET_VALUE)
    prov.longhorn_backup_targets()
    assert target(custom)["status"]["available"] is True
    assert target(custom)["status"]["conditions"][0]["status"] == "False"


def test_the_charts_defaults_give_an_empty_unavailable_backup_target():
    prov, _core, custom = backup_provisioner([running_manager("m-1", "lh-main", "u1")], "")
    prov.longhorn_backup_targets()
    assert target(custom)["spec"] == {"backupTargetURL": "", "credentialSecret": "", "pollInterval": "5m0s",
                                      "syncRequestedAt": None}
    assert target(custom)["status"]["conditions"][0]["message"] == "backup target URL is empty"


def test_nothing_without_a_running_manager_or_the_crd():
    prov, _core, custom = backup_provisioner([running_manager("m-1", "lh-main", "u1", state="waiting")], "")
    prov.longhorn_backup_targets()
    assert target(custom) is None  # a manager that does not run syncs nothing
    prov, _core, custom = backup_provisioner([running_manager("m-1", "lh-main", "u1")], "", crd=False)
    prov.longhorn_backup_targets()  # the backuptargets CRD is missing: 404, nothing happens
    assert [call for call in custom.calls if call[0] != "list"] == []


def test_sync_happens_on_manager_start_and_configmap_change_only():
    pods = [running_manager("m-1", "lh-main", "u1")]
    prov, core, custom = backup_provisioner(pods, "backup-target: %s" % S3_URL)
    prov.longhorn_backup_targets()
    assert target(custom)["spec"]["backupTargetURL"] == S3_URL
    # a user edits the BackupTarget (kubectl, the UI): nothing syncs, the edit stays
    merge_patch(target(custom), {"spec": {"backupTargetURL": "nfs://nfs.example:/export", "pollInterval": "10m"}})
    for _poll in range(3):
        prov.longhorn_backup_targets()
    assert target(custom)["spec"]["backupTargetURL"] == "nfs://nfs.example:/export"
    # helm upgrade changes the ConfigMap: its keys win, the others keep the user's values
    core.set_configmap("backup-target: %s\nbackup-target-credential-secret: s3-secret" % S3_URL)
    prov.longhorn_backup_targets()
    spec = target(custom)["spec"]
    assert (spec["backupTargetURL"], spec["credentialSecret"], spec["pollInterval"]) == (S3_URL, "s3-secret", "10m0s")
    assert spec["syncRequestedAt"]
    # edited again; a manager pod restarts (new uid): its startup sync overwrites the ConfigMap's keys again
    merge_patch(target(custom), {"spec": {"backupTargetURL": "nfs://nfs.example:/export"}})
    prov.longhorn_backup_targets()
    assert target(custom)["spec"]["backupTargetURL"] == "nfs://nfs.example:/export"
    pods[0] = running_manager("m-2", "lh-main", "u2")
    core.pods = pods
    prov.longhorn_backup_targets()
    assert target(custom)["spec"]["backupTargetURL"] == S3_URL


def test_a_restarted_standin_does_not_count_as_a_manager_start():
    pods = [running_manager("m-1", "lh-main", "u1")]
    prov, core, custom = backup_provisioner(pods, "backup-target: %s" % S3_URL)
    prov.longhorn_backup_targets()
    merge_patch(target(custom), {"spec": {"backupTargetURL": "nfs://nfs.example:/export"}})
    fresh = provisioner(core, custom)  # the stand-in process restarted (no memory)
    fresh.longhorn_backup_targets()
    assert target(custom)["spec"]["backupTargetURL"] == "nfs://nfs.example:/export"
    core.set_configmap("backup-target: %s\n" % S3_URL)  # but a change of the ConfigMap syncs
    fresh.longhorn_backup_targets()
    assert target(custom)["spec"]["backupTargetURL"] == S3_URL


def test_a_manager_that_cannot_sync_crash_loops_until_the_configmap_is_fixed(caplog):
    pods = [running_manager("m-1", "lh-main", "u1")]
    prov, core, custom = backup_provisioner(pods, "backup-target: http://minio:9000/backups")
    with caplog.at_level(logging.INFO, logger="kaapana-lab-provisioner"):
        prov.longhorn_backup_targets()
    assert target(custom) is None  # the webhook refused the creation
    assert pods[0].metadata.annotations == {P.LONGHORN_CRASHLOOP_ANNOTATION: "default backup target"}
    kind, _name, body = core.pod_patches[-1]
    state = body["status"]["containerStatuses"][0]
    assert kind == "status" and state["state"]["waiting"]["reason"] == "CrashLoopBackOff" and state["ready"] is False
    assert state["lastState"]["terminated"]["exitCode"] == 1
    assert {c["type"]: c["status"] for c in body["status"]["conditions"]} == {"Ready": "False", "ContainersReady": "False"}
    assert ('Error starting manager: admission webhook "validator.longhorn.io" denied the request: url '
            'http://minio:9000/backups with the unsupported protocol http') in caplog.text
    # still wrong: still crash-looping, nothing new written
    patches = len(core.pod_patches)
    prov.longhorn_backup_targets()
    assert len(core.pod_patches) == patches and target(custom) is None
    # helm upgrade with a valid URL: the next restart syncs and the manager runs
    core.set_configmap("backup-target: nfs://nfs.example:/export")
    prov.longhorn_backup_targets()
    assert target(custom)["spec"]["backupTargetURL"] == "nfs://nfs.example:/export"
    assert pods[0].metadata.annotations == {} and P.longhorn_manager_running(pods[0])
    assert target(custom)["status"]["available"] is True  # nfs: not contacted in the lab


@pytest.mark.parametrize("text, error", [
    ("backupstore-poll-interval: 5m", 'strconv.ParseInt: parsing "5m": invalid syntax'),
    ("backup-target: [nfs]", "yaml: unmarshal errors"),
    (None, 'configmap "longhorn-default-resource" not found'),
])
def test_other_startup_sync_failures_crash_the_manager_too(text, error, caplog):
    pods = [running_manager("m-1", "lh-main", "u1")]
    prov, _core, custom = backup_provisioner(pods, text)
    with caplog.at_level(logging.WARNING, logger="kaapana-lab-provisioner"):
        prov.longhorn_backup_targets()
    assert P.LONGHORN_CRASHLOOP_ANNOTATION in pods[0].metadata.annotations
    assert error in caplog.text and target(custom) is None


def test_a_bad_configmap_change_under_running_managers_is_only_logged(caplog):
    pods = [running_manager("m-1", "lh-main", "u1")]
    prov, core, custom = backup_provisioner(pods, "backup-target: %s" % S3_URL)
    prov.longhorn_backup_targets()
    core.set_configmap("backup-target: s3://bk@us-east-1/a,b")
    with caplog.at_level(logging.WARNING, logger="kaapana-lab-provisioner"):
        prov.longhorn_backup_targets()
    assert "failed to create or update default backup target with customized values: admission webhook " \
           '"validator.longhorn.io" denied the request: url s3://bk@us-east-1/a,b, contains ,' in caplog.text
    assert target(custom)["spec"]["backupTargetURL"] == S3_URL and pods[0].metadata.annotations == {}
    assert not core.pod_patches


def test_an_api_refusal_counts_as_the_webhooks():
    class Refusing(Custom):
        def create_namespaced_custom_object(self, group, version, namespace, plural, body):
            raise ApiException(status=422, reason="Unprocessable Entity")

    pods = [running_manager("m-1", "lh-main", "u1")]
    core = BackupCore(pods, "")
    prov = provisioner(core, Refusing([NS]))
    prov.longhorn_backup_targets()
    assert P.LONGHORN_CRASHLOOP_ANNOTATION in pods[0].metadata.annotations


def test_secret_values_are_never_logged(caplog):
    pods = [running_manager("m-1", "lh-main", "u1")]
    secrets = {(NS, "s3-secret"): s3_secret(AWS_ACCESS_KEY_ID="AKIA-ID-VALUE", AWS_SECRET_ACCESS_KEY=SECRET_VALUE + "\n")}
    prov, core, _custom = backup_provisioner(
        pods, "backup-target: %s\nbackup-target-credential-secret: s3-secret" % S3_URL, secrets)
    with caplog.at_level(logging.DEBUG):
        prov.longhorn_backup_targets()  # refused: trailing newline
        core.secrets[(NS, "s3-secret")] = s3_secret(AWS_ACCESS_KEY_ID="AKIA-ID-VALUE", AWS_SECRET_ACCESS_KEY=SECRET_VALUE)
        prov.longhorn_backup_targets()
    assert "invalid trailing newline in AWS_SECRET_ACCESS_KEY" in caplog.text
    assert "available" in caplog.text
    for value in (SECRET_VALUE, "AKIA-ID-VALUE", b64(SECRET_VALUE)):
        assert value not in caplog.text


def test_a_deleted_backup_target_loses_the_finalizer():
    prov, _core, custom = backup_provisioner([running_manager("m-1", "lh-main", "u1")], "")
    prov.longhorn_backup_targets()
    custom.objects[NS]["backuptargets"]["default"]["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    prov.longhorn_backup_targets()
    assert target(custom) is None
    # a BackupTarget a user created gets the mutator's finalizer and a status as well
    custom.objects[NS]["backuptargets"]["second"] = {"metadata": {"name": "second"},
                                                     "spec": {"backupTargetURL": "nfs://b:/x"}}
    prov.longhorn_backup_targets()
    assert target(custom, "second")["metadata"]["finalizers"] == ["longhorn.io"]
    assert target(custom, "second")["status"]["available"] is True


def test_the_uninstaller_clears_and_deletes_backup_targets_and_recurring_jobs():
    prov, _core, custom = backup_provisioner([running_manager("m-1", "lh-main", "u1")], "backup-target: %s" % S3_URL)
    prov.longhorn_backup_targets()
    custom.objects[NS]["recurringjobs"]["backup-daily"] = {"metadata": {"name": "backup-daily"}, "spec": {}}
    patched = []
    original = custom.patch_namespaced_custom_object

    def record(group, version, namespace, plural, name, body):
        patched.append(copy.deepcopy(body))
        return original(group, version, namespace, plural, name, body)
    custom.patch_namespaced_custom_object = record
    prov.batch = Batch([(NS, "longhorn-uninstall")])
    prov.longhorn_backup_targets()
    assert patched[0]["spec"] == {"backupTargetURL": ""}  # nothing on the backup store is touched
    assert patched[0]["metadata"]["annotations"] == {"longhorn.io/delete-backup-target-from-longhorn": ""}
    assert custom.objects[NS]["backuptargets"] == {} and custom.objects[NS]["recurringjobs"] == {}
    # while the uninstaller runs nothing is created again
    prov.longhorn_backup_targets()
    assert custom.objects[NS]["backuptargets"] == {}


# ---------------------------------------------------------------------------------------------------------------------
# recurring jobs
# ---------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, patch", [
    ({"task": "backup", "cron": "0 2 * * *", "retain": 7, "groups": [], "labels": {}, "parameters": {}, "name": "j"},
     None),
    ({"task": "backup", "cron": "0 2 * * *"},
     {"name": "j", "groups": [], "labels": {}, "parameters": {}, "retain": 1}),
    ({"task": "snapshot", "retain": -3, "name": "j", "groups": ["default"], "labels": {}, "parameters": {}},
     {"retain": 1}),
    ({"task": "snapshot-cleanup", "retain": 5, "name": "j", "groups": [], "labels": {}, "parameters": {}},
     {"retain": 0}),
    ({"task": "filesystem-trim", "name": "j", "groups": [], "labels": {}, "parameters": {}}, None),
    ({"task": "snapshot-delete", "retain": -1, "name": "j", "groups": [], "labels": {}, "parameters": {}},
     {"retain": 0}),
    ({"task": "snapshot-delete", "retain": 0, "name": "j", "groups": [], "labels": {}, "parameters": {}}, None),
])
def test_recurring_job_defaults_of_longhorns_mutator(spec, patch):
    job = {"metadata": {"name": "j"}, "spec": spec}
    assert P.longhorn_recurring_job_defaults(job) == ({"spec": patch} if patch else None)


def test_recurring_jobs_get_the_defaults_and_an_owner():
    custom = Custom([NS])
    custom.objects[NS]["recurringjobs"]["backup-daily"] = {
        "metadata": {"name": "backup-daily"}, "spec": {"task": "backup", "cron": "0 2 * * *", "groups": ["default"]}}
    prov = provisioner(Core([], {}), custom)
    prov.longhorn_recurring_jobs({NS: ["lh-main", "lh-worker-1"]})
    job = custom.objects[NS]["recurringjobs"]["backup-daily"]
    assert job["spec"] == {"task": "backup", "cron": "0 2 * * *", "groups": ["default"], "name": "backup-daily",
                           "labels": {}, "parameters": {}, "retain": 1}
    assert job["status"] == {"ownerID": "lh-main", "executionCount": 0}
    calls = len(custom.calls)
    prov.longhorn_recurring_jobs({NS: ["lh-main", "lh-worker-1"]})
    assert len(custom.calls) == calls + 1  # only the list: nothing left to change


def test_volume_recurring_labels_as_the_volume_controller_sets_them():
    default = {P.RECURRING_DEFAULT_GROUP_LABEL: "enabled"}
    assert P.longhorn_volume_recurring_labels({"longhornvolume": "v"}) == dict(default, longhornvolume="v")
    own = {"recurring-job.longhorn.io/nightly": "enabled"}
    assert P.longhorn_volume_recurring_labels(own) == own  # a volume with a job of its own is not in default
    # a PVC with the source label hands its recurring job labels over (and the volume loses the others)
    pvc = {"recurring-job.longhorn.io/source": "enabled", "recurring-job-group.longhorn.io/backup": "enabled",
           "app": "minio"}
    assert P.longhorn_volume_recurring_labels(dict(default, longhornvolume="v"), pvc) == {
        "longhornvolume": "v", "recurring-job-group.longhorn.io/backup": "enabled"}
    # without the source label the PVC's labels do not count
    assert P.longhorn_volume_recurring_labels(dict(default), {"recurring-job-group.longhorn.io/backup": "enabled"}) \
        == default
    # the source label only: nothing to hand over, so the volume is in the default group
    assert P.longhorn_volume_recurring_labels(own, {"recurring-job.longhorn.io/source": "enabled"}) == default


def test_recurring_job_selector_of_a_storage_class():
    assert P.longhorn_recurring_job_selector('[{"name":"backup","isGroup":true},{"name":"snap","isGroup":false}]') == {
        "recurring-job-group.longhorn.io/backup": "enabled", "recurring-job.longhorn.io/snap": "enabled"}
    assert P.longhorn_recurring_job_selector("[]") == {} and P.longhorn_recurring_job_selector("null") == {}
    # the chart renders a YAML list as Go prints it: the CSI driver refuses that
    for bad, why in (("[map[isGroup:true name:backup]]", "invalid json format of recurringJobSelector: "),
                     ('{"name":"backup"}', "cannot unmarshal object into Go value of type []client.VolumeRecurringJob"),
                     ('[{"name":1}]', "VolumeRecurringJob.name of type string"),
                     ('[{"name":"b","isGroup":"true"}]', "VolumeRecurringJob.isGroup of type bool")):
        with pytest.raises(ValueError, match=re.escape(why)):
            P.longhorn_recurring_job_selector(bad)


def test_volumes_get_recurring_job_labels_from_class_and_pvc():
    selector_pv = longhorn_pv("pvc-1", "services", "minio-pv-claim")
    selector_pv.spec.csi.volume_attributes["recurringJobSelector"] = '[{"name":"backup","isGroup":true}]'
    selector_pv.spec.csi.volume_attributes["backupTargetName"] = "default"
    plain_pv = longhorn_pv("pvc-2", "services", "postgres-pv-claim")
    prov, custom = volume_provisioner([selector_pv, plain_pv])
    prov.longhorn_volumes()
    volumes = custom.objects["longhorn-system"]["volumes"]
    assert volumes["pvc-1"]["metadata"]["labels"] == {"longhornvolume": "pvc-1",
                                                      "recurring-job-group.longhorn.io/backup": "enabled"}
    assert volumes["pvc-2"]["metadata"]["labels"] == {"longhornvolume": "pvc-2",
                                                      "recurring-job-group.longhorn.io/default": "enabled"}
    assert volumes["pvc-2"]["spec"]["backupTargetName"] == "default"
    # the PVC gets the source label and a job: the volume follows on the next pass
    for name in ("pvc-1", "pvc-2"):
        custom.objects["longhorn-system"]["volumes"][name]["status"] = {"kubernetesStatus": {
            "namespace": "services", "pvcName": "postgres-pv-claim" if name == "pvc-2" else "minio-pv-claim"}}
    prov.core.claims[("services", "postgres-pv-claim")] = {"recurring-job.longhorn.io/source": "enabled",
                                                           "recurring-job.longhorn.io/nightly": "enabled"}
    prov.longhorn_volumes()
    assert volumes["pvc-2"]["metadata"]["labels"] == {"longhornvolume": "pvc-2",
                                                      "recurring-job.longhorn.io/nightly": "enabled"}
    assert volumes["pvc-1"]["metadata"]["labels"]["recurring-job-group.longhorn.io/backup"] == "enabled"


def test_a_class_with_an_invalid_recurring_job_selector_provisions_nothing():
    events = []

    class ProvCore:
        def create_persistent_volume(self, body):
            raise AssertionError("provisioned")

        def create_namespaced_event(self, namespace, body):
            events.append(body)

    sc = client.V1StorageClass(metadata=client.V1ObjectMeta(name="longhorn"), provisioner="driver.longhorn.io",
                               parameters={"numberOfReplicas": "1",
                                           "recurringJobSelector": "[map[isGroup:true name:backup]]"})
    claim = client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name="data", namespace="services", uid="uid-data", resource_version="1"),
        spec=client.V1PersistentVolumeClaimSpec(access_modes=["ReadWriteOnce"], storage_class_name="longhorn"),
        status=client.V1PersistentVolumeClaimStatus(phase="Pending"))
    prov = P.Provisioner.__new__(P.Provisioner)
    prov.core, prov.identity = ProvCore(), "1-test"
    assert prov.provision(claim, {"longhorn": sc}, {}) is None
    assert prov.provision(claim, {"longhorn": sc}, {}) is None
    assert len(events) == 1 and events[0].type == "Warning" and events[0].reason == "ProvisioningFailed"
    assert events[0].message.startswith('failed to provision volume with StorageClass "longhorn": rpc error: code = '
                                        'InvalidArgument desc = invalid json format of recurringJobSelector: ')


def test_a_recurring_job_the_policies_refuse_is_reported_once(caplog):
    class Refusing(Custom):
        def patch_namespaced_custom_object(self, group, version, namespace, plural, name, body):
            raise ApiException(status=422, reason="Unprocessable Entity")

    custom = Refusing([NS])
    custom.objects[NS]["recurringjobs"]["old"] = {"metadata": {"name": "old", "resourceVersion": "5"},
                                                  "spec": {"task": "backup", "cron": "0 25 * * *"}}
    prov = provisioner(Core([], {}), custom)
    with caplog.at_level(logging.WARNING, logger="kaapana-lab-provisioner"):
        for _poll in range(3):
            prov.longhorn_recurring_jobs({NS: ["lh-main"]})
    assert caplog.text.count("RecurringJob longhorn-system/old: 422") == 1


# -- volume expansion (resize_step: the CSI external-resizer, then the kubelet's NodeExpandVolume) ------------------
def _claim(request, conditions=None):
    return {"spec": {"resources": {"requests": {"storage": request}}}, "status": {"conditions": conditions or []}}


def _volume(capacity):
    return {"spec": {"capacity": {"storage": capacity}}}


PENDING = [{"type": "FileSystemResizePending", "status": "True"}]


@pytest.mark.parametrize("claim, volume, expandable, mounted, step", [
    (_claim("150Gi"), _volume("100Gi"), True, False, "expand"),      # offline: the controller part first
    (_claim("150Gi"), _volume("100Gi"), True, True, "expand"),       # online too
    (_claim("150Gi"), _volume("100Gi"), False, True, None),          # not Longhorn's expandable class
    (_claim("150Gi", PENDING), _volume("150Gi"), True, False, None),  # waits for a pod to mount it
    (_claim("150Gi", PENDING), _volume("150Gi"), True, True, "finish"),
    (_claim("1Ti"), _volume("1024Gi"), True, True, None),            # the same size in other units
    (_claim("100Gi"), _volume("161061273600"), True, True, None),    # the driver's size in bytes, larger
])
def test_resize_steps_follow_the_resizer_then_the_kubelet(claim, volume, expandable, mounted, step):
    assert P.resize_step(claim, volume, expandable, mounted) == step


def test_quantities_in_bytes():
    assert P.quantity_bytes("150Gi") == 150 * 2 ** 30 and P.quantity_bytes("1T") == 10 ** 12
    assert P.quantity_bytes("12") == 12 and P.quantity_bytes("lots") is None and P.quantity_bytes("1ki") is None
