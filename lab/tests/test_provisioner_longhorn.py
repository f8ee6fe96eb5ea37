"""Unit tests of the lab provisioner's stand-in for longhorn-manager's node registration and volumes
(lab/standins/provisioner.py: longhorn_node_manifest, Provisioner.register_longhorn_nodes,
Provisioner.longhorn_volumes), with in-memory fakes of the CoreV1, BatchV1 and CustomObjects APIs."""
import importlib.machinery
import importlib.util
import os

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


class Custom:
    """nodes and settings of longhorn.io/v1beta2; a namespace without the CRD answers 404."""

    def __init__(self, crd_namespaces, settings=None):
        self.objects = {ns: {"nodes": {}, "settings": dict(settings or {}), "volumes": {}} for ns in crd_namespaces}
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
        store[body["metadata"]["name"]] = body
        self.calls.append(("create", namespace, body["metadata"]["name"]))
        return body

    def patch_namespaced_custom_object_status(self, group, version, namespace, plural, name, body):
        self.status[(namespace, name)] = body
        return body

    def patch_namespaced_custom_object(self, group, version, namespace, plural, name, body):
        store = self._ns(group, version, namespace)[plural]
        store[name]["metadata"].update(body["metadata"])
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


def provisioner(core, custom):
    prov = P.Provisioner.__new__(P.Provisioner)
    prov.core, prov.custom = core, custom
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
    def __init__(self, pods, pvs):
        super().__init__(pods, {})
        self.pvs = pvs

    def list_persistent_volume(self):
        return client.V1PersistentVolumeList(items=self.pvs)


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
