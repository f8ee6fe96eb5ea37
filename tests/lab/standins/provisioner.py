"""kaapana lab STAND-IN volume provisioner -- NOT MicroK8s' hostpath provisioner, NOT Longhorn.

A host-side process of the test lab. Neither MicroK8s' hostpath-provisioner pod nor Longhorn's
CSI driver can run on KWOK's fake kubelets, so this process does their control-plane part
against the lab API, the way sig-storage-lib-external-provisioner / external-provisioner do:

* PersistentVolumeClaims whose StorageClass provisioner is ``microk8s.io/hostpath`` or
  ``driver.longhorn.io`` get a matching PersistentVolume named ``pvc-<claim uid>`` with a
  ``claimRef``, so kube-controller-manager's PV controller binds the pair;
* the class's ``volumeBindingMode`` is honoured: ``WaitForFirstConsumer`` claims are provisioned
  only once the scheduler has annotated them with ``volume.kubernetes.io/selected-node``;
* hostpath volumes are ``hostPath`` volumes (type DirectoryOrCreate) under the class's ``pvDir``
  parameter (default ``/var/snap/microk8s/common/default-storage``), named
  ``<namespace>-<claim>-<pv>`` like canonical/hostpath-provisioner, with node affinity to the
  selected node (or, for Immediate classes, to the node running the hostpath-provisioner pod);
* Longhorn volumes are ``csi`` volumes of driver ``driver.longhorn.io`` (allowedTopologies of the
  class become node affinity), and VolumeAttachments of that driver are marked attached;
* PVs carry ``pv.kubernetes.io/provisioned-by``; Released PVs of ``Delete`` classes are deleted
  (``Retain`` ones are left alone).
(The backing directories would live inside the node containers; they are not created here.)

It also does the part of Longhorn's manager that registers nodes: real ``longhorn-manager`` (a
DaemonSet) creates one ``nodes.longhorn.io`` object for the Kubernetes node each of its pods runs on,
in the pod's namespace, with a default disk ``default-disk-<fsid>`` at the ``default-data-path``
setting (``/var/lib/longhorn/``), ``allowScheduling: true`` (no disk when the setting
``create-default-disk-labeled-nodes`` is "true" and the node lacks the label
``node.longhorn.io/create-default-disk=true``). Here, once the ``nodes.longhorn.io`` CRD exists, every
scheduled ``app=longhorn-manager`` pod gets such an object for its node if there is none yet; the
fsid is a stable hash of the node name (the real one is the file-system id, ``stat -fc %i``, that
the host-side process cannot see). Objects are never updated or deleted afterwards, as the real
manager leaves disk changes to the user (Kaapana's tooling patches them).

Run: ``.venv/bin/python tests/lab/standins/provisioner.py [--kubeconfig] KUBECONFIG [--interval SECONDS]``.
It exits cleanly (status 0) on SIGTERM or SIGINT. ``main(argv)`` is the entry point.
"""
import argparse
import datetime
import hashlib
import logging
import os
import signal
import sys
import threading

from kubernetes import client, config
from kubernetes.client.rest import ApiException

HOSTPATH = "microk8s.io/hostpath"
LONGHORN = "driver.longhorn.io"
PROVISIONERS = (HOSTPATH, LONGHORN)
DEFAULT_PV_DIR = "/var/snap/microk8s/common/default-storage"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
STANDIN_ANNOTATION = "kaapana.lab/standin"
LOG = logging.getLogger("kaapana-lab-provisioner")
LONGHORN_GROUP = "longhorn.io"
LONGHORN_VERSION = "v1beta2"
LONGHORN_MANAGER_SELECTOR = "app=longhorn-manager"
LONGHORN_DEFAULT_DATA_PATH = "/var/lib/longhorn/"
LONGHORN_DEFAULT_DISK_LABEL = "node.longhorn.io/create-default-disk"


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def longhorn_fsid(node_name):
    """Stand-in for the file-system id in Longhorn's default disk name: stable per node."""
    return hashlib.sha256(node_name.encode("utf-8")).hexdigest()[:8]


def longhorn_node_manifest(node_name, namespace, data_path=LONGHORN_DEFAULT_DATA_PATH, default_disk=True):
    """The nodes.longhorn.io object longhorn-manager creates for a Kubernetes node it runs on."""
    disks = {}
    if default_disk:
        disks["default-disk-%s" % longhorn_fsid(node_name)] = {
            "path": data_path, "allowScheduling": True, "evictionRequested": False, "storageReserved": 0,
            "diskType": "filesystem", "tags": []}
    return {"apiVersion": "%s/%s" % (LONGHORN_GROUP, LONGHORN_VERSION), "kind": "Node",
            "metadata": {"name": node_name, "namespace": namespace,
                         "annotations": {STANDIN_ANNOTATION: "provisioner"}},
            "spec": {"name": node_name, "allowScheduling": True, "evictionRequested": False,
                     "instanceManagerCPURequest": 0, "tags": [], "disks": disks}}


def longhorn_node_status(manifest):
    stamp = _now().strftime("%Y-%m-%dT%H:%M:%SZ")

    def cond(kind):
        return {"type": kind, "status": "True", "reason": "", "message": "", "lastProbeTime": "",
                "lastTransitionTime": stamp}
    return {"status": {"conditions": [cond("Ready"), cond("Schedulable"), cond("MountPropagation")],
                       "diskStatus": {name: {"conditions": [cond("Ready"), cond("Schedulable")],
                                             "diskType": "filesystem", "scheduledReplica": {}}
                                      for name in manifest["spec"]["disks"]},
                       "region": "", "zone": ""}}


class Provisioner:
    """One reconcile pass per `sync()`; `run()` repeats it until the stop event is set."""

    def __init__(self, api_client, interval=1.0):
        self.core = client.CoreV1Api(api_client)
        self.storage = client.StorageV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)
        self.interval = interval
        self.identity = "%d-kaapana-lab-standin" % int(_now().timestamp() * 1000)

    # -- reconcile ----------------------------------------------------------------------------
    def sync(self):
        classes = {sc.metadata.name: sc for sc in self.storage.list_storage_class().items
                   if sc.provisioner in PROVISIONERS}
        pvs = {pv.metadata.name: pv for pv in self.core.list_persistent_volume().items}
        for pvc in self.core.list_persistent_volume_claim_for_all_namespaces().items:
            try:
                self.provision(pvc, classes, pvs)
            except ApiException as error:
                LOG.warning("provisioning %s/%s failed: %s %s", pvc.metadata.namespace, pvc.metadata.name,
                            error.status, error.reason)
        for pv in pvs.values():
            try:
                self.reclaim(pv)
            except ApiException as error:
                LOG.warning("deleting %s failed: %s %s", pv.metadata.name, error.status, error.reason)
        try:
            self.attach()
        except ApiException as error:
            LOG.warning("volume attachments: %s %s", error.status, error.reason)
        try:
            self.register_longhorn_nodes()
        except ApiException as error:
            LOG.warning("longhorn nodes: %s %s", error.status, error.reason)

    def provision(self, pvc, classes, pvs):
        if pvc.metadata.deletion_timestamp or pvc.spec.volume_name:
            return None
        if pvc.status is not None and pvc.status.phase not in (None, "Pending"):
            return None
        sc = classes.get(pvc.spec.storage_class_name or "")
        if sc is None:
            return None
        annotations = pvc.metadata.annotations or {}
        selected = annotations.get(SELECTED_NODE)
        if (sc.volume_binding_mode or "Immediate") == "WaitForFirstConsumer" and not selected:
            return None  # the scheduler has not picked a node yet
        name = "pvc-%s" % pvc.metadata.uid
        if name in pvs:
            return None  # provisioned already; the PV controller binds it
        pv = self.build_pv(name, pvc, sc, selected)
        try:
            created = self.core.create_persistent_volume(pv)
        except ApiException as error:
            if error.status == 409:
                return None
            raise
        pvs[name] = created
        LOG.info("provisioned %s for %s/%s (class %s, %s)", name, pvc.metadata.namespace, pvc.metadata.name,
                 sc.metadata.name, sc.provisioner)
        self.event(pvc, "ProvisioningSucceeded", "Successfully provisioned volume %s" % name, sc.provisioner)
        return created

    def build_pv(self, name, pvc, sc, selected):
        params = dict(sc.parameters or {})
        requests = (pvc.spec.resources.requests or {}) if pvc.spec.resources else {}
        capacity = {"storage": requests.get("storage", "1Gi")}
        reclaim = sc.reclaim_policy or "Delete"
        annotations = {PROVISIONED_BY: sc.provisioner, STANDIN_ANNOTATION: "provisioner"}
        affinity = None
        if sc.provisioner == HOSTPATH:
            node = selected or self.hostpath_node()
            pv_dir = params.get("pvDir") or DEFAULT_PV_DIR
            path = os.path.join(pv_dir, "%s-%s-%s" % (pvc.metadata.namespace, pvc.metadata.name, name))
            source = {"hostPath": client.V1HostPathVolumeSource(path=path, type="DirectoryOrCreate")}
            annotations["hostPathProvisionerIdentity"] = node or "kaapana-lab"
            if node:
                affinity = self.affinity([("kubernetes.io/hostname", [node])])
        else:
            attributes = dict(params)
            attributes["storage.kubernetes.io/csiProvisionerIdentity"] = "%s-%s" % (self.identity, LONGHORN)
            source = {"csi": client.V1CSIPersistentVolumeSource(
                driver=LONGHORN, volume_handle=name, fs_type=params.get("fsType", "ext4"),
                volume_attributes=attributes)}
            annotations["volume.kubernetes.io/provisioner-deletion-secret-name"] = ""
            annotations["volume.kubernetes.io/provisioner-deletion-secret-namespace"] = ""
            terms = []
            for term in sc.allowed_topologies or []:
                for expr in term.match_label_expressions or []:
                    terms.append((expr.key, list(expr.values)))
            # Longhorn volumes are reachable from every node: only the class's allowedTopologies
            # restrict where they can be used
            if terms:
                affinity = self.affinity(terms)
        claim_ref = client.V1ObjectReference(api_version="v1", kind="PersistentVolumeClaim",
                                             namespace=pvc.metadata.namespace, name=pvc.metadata.name,
                                             uid=pvc.metadata.uid, resource_version=pvc.metadata.resource_version)
        spec = client.V1PersistentVolumeSpec(
            capacity=capacity, access_modes=pvc.spec.access_modes or ["ReadWriteOnce"],
            persistent_volume_reclaim_policy=reclaim, storage_class_name=sc.metadata.name,
            volume_mode=pvc.spec.volume_mode or "Filesystem", mount_options=sc.mount_options,
            claim_ref=claim_ref, node_affinity=affinity, **source)
        return client.V1PersistentVolume(api_version="v1", kind="PersistentVolume",
                                         metadata=client.V1ObjectMeta(name=name, annotations=annotations),
                                         spec=spec)

    @staticmethod
    def affinity(terms):
        expressions = [client.V1NodeSelectorRequirement(key=key, operator="In", values=values)
                       for key, values in terms]
        return client.V1VolumeNodeAffinity(required=client.V1NodeSelector(
            node_selector_terms=[client.V1NodeSelectorTerm(match_expressions=expressions)]))

    def hostpath_node(self):
        """Immediate hostpath classes: the real provisioner uses the node its helper pod ran on."""
        pods = self.core.list_namespaced_pod("kube-system", label_selector="k8s-app=hostpath-provisioner").items
        for pod in pods:
            if pod.spec.node_name:
                return pod.spec.node_name
        for node in self.core.list_node(label_selector="kaapana.lab/standin=microk8s").items:
            return node.metadata.name
        return None

    def reclaim(self, pv):
        annotations = pv.metadata.annotations or {}
        if annotations.get(PROVISIONED_BY) not in PROVISIONERS:
            return
        if pv.metadata.deletion_timestamp or pv.spec.persistent_volume_reclaim_policy != "Delete":
            return
        if pv.status is None or pv.status.phase != "Released":
            return
        self.core.delete_persistent_volume(pv.metadata.name)
        LOG.info("deleted released volume %s (reclaim policy Delete)", pv.metadata.name)

    def attach(self):
        for attachment in self.storage.list_volume_attachment().items:
            if attachment.spec.attacher != LONGHORN or attachment.metadata.deletion_timestamp:
                continue
            if attachment.status is not None and attachment.status.attached:
                continue
            self.storage.patch_volume_attachment_status(attachment.metadata.name, {"status": {"attached": True}})
            LOG.info("attached %s", attachment.metadata.name)

    # -- longhorn-manager's node registration ----------------------------------------------------------
    def register_longhorn_nodes(self):
        """One nodes.longhorn.io object per node that runs a longhorn-manager pod (in its namespace)."""
        wanted = {}
        for pod in self.core.list_pod_for_all_namespaces(label_selector=LONGHORN_MANAGER_SELECTOR).items:
            if pod.spec.node_name and not pod.metadata.deletion_timestamp:
                wanted.setdefault(pod.metadata.namespace, set()).add(pod.spec.node_name)
        created = []
        for namespace in sorted(wanted):
            try:
                existing = self.custom.list_namespaced_custom_object(LONGHORN_GROUP, LONGHORN_VERSION, namespace,
                                                                     "nodes")
            except ApiException as error:
                if error.status == 404:
                    continue  # the nodes.longhorn.io CRD is not installed (yet)
                raise
            have = {item["metadata"]["name"] for item in existing.get("items", [])}
            missing = sorted(wanted[namespace] - have)
            if not missing:
                continue
            data_path = self.longhorn_setting(namespace, "default-data-path") or LONGHORN_DEFAULT_DATA_PATH
            labeled_only = (self.longhorn_setting(namespace, "create-default-disk-labeled-nodes") or "").lower()
            for name in missing:
                try:
                    node = self.core.read_node(name)
                except ApiException as error:
                    if error.status == 404:
                        continue  # the Kubernetes node is gone; its pod goes too
                    raise
                labels = node.metadata.labels or {}
                default_disk = labeled_only != "true" or labels.get(LONGHORN_DEFAULT_DISK_LABEL) == "true"
                manifest = longhorn_node_manifest(name, namespace, data_path, default_disk)
                try:
                    self.custom.create_namespaced_custom_object(LONGHORN_GROUP, LONGHORN_VERSION, namespace, "nodes",
                                                                manifest)
                except ApiException as error:
                    if error.status == 409:
                        continue
                    LOG.warning("creating Longhorn node %s/%s failed: %s %s", namespace, name, error.status,
                                error.reason)
                    continue
                try:
                    self.custom.patch_namespaced_custom_object_status(LONGHORN_GROUP, LONGHORN_VERSION, namespace,
                                                                      "nodes", name, longhorn_node_status(manifest))
                except ApiException as error:
                    LOG.warning("status of Longhorn node %s/%s: %s %s", namespace, name, error.status, error.reason)
                created.append("%s/%s" % (namespace, name))
                LOG.info("registered Longhorn node %s/%s (disks: %s)", namespace, name,
                         ", ".join(sorted(manifest["spec"]["disks"])) or "none")
        return created

    def longhorn_setting(self, namespace, name):
        try:
            setting = self.custom.get_namespaced_custom_object(LONGHORN_GROUP, LONGHORN_VERSION, namespace,
                                                               "settings", name)
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return setting.get("value")

    def event(self, pvc, reason, message, source):
        stamp = _now()
        body = client.CoreV1Event(
            metadata=client.V1ObjectMeta(generate_name="%s." % pvc.metadata.name, namespace=pvc.metadata.namespace),
            involved_object=client.V1ObjectReference(kind="PersistentVolumeClaim", namespace=pvc.metadata.namespace,
                                                     name=pvc.metadata.name, uid=pvc.metadata.uid, api_version="v1",
                                                     resource_version=pvc.metadata.resource_version),
            reason=reason, message=message, type="Normal", count=1, first_timestamp=stamp, last_timestamp=stamp,
            source=client.V1EventSource(component="%s_kaapana-lab-standin" % source))
        try:
            self.core.create_namespaced_event(pvc.metadata.namespace, body)
        except ApiException:
            pass

    # -- loop -----------------------------------------------------------------------------------
    def run(self, stop):
        LOG.info("kaapana lab stand-in provisioner for %s (and Longhorn node registration) started",
                 ", ".join(PROVISIONERS))
        while not stop.is_set():
            try:
                self.sync()
            except ApiException as error:
                LOG.warning("lab API: %s %s", error.status, error.reason)
            except Exception as error:  # noqa: BLE001 - keep serving through API outages
                LOG.warning("lab API unreachable: %s", error)
            stop.wait(self.interval)
        LOG.info("stopped")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="provisioner.py",
                                     description="kaapana lab stand-in for the microk8s.io/hostpath and "
                                                 "driver.longhorn.io provisioners")
    parser.add_argument("kubeconfig_path", nargs="?", metavar="KUBECONFIG", help="admin kubeconfig of the lab API")
    parser.add_argument("--kubeconfig", dest="kubeconfig_flag", metavar="KUBECONFIG",
                        help="the same, as an option")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between reconcile passes")
    parser.add_argument("--once", action="store_true", help="run one reconcile pass and exit")
    args = parser.parse_args(argv)
    kubeconfig = args.kubeconfig_flag or args.kubeconfig_path
    if not kubeconfig:
        parser.error("a kubeconfig is required")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s kaapana-lab-provisioner %(levelname)s %(message)s")
    api_client = config.new_client_from_config(config_file=kubeconfig)
    # Its own user agent, so benchmarks that count API requests by client can leave it out.
    api_client.user_agent = "kaapana-lab-provisioner/1"
    provisioner = Provisioner(api_client, interval=args.interval)
    if args.once:
        provisioner.sync()
        return 0
    stop = threading.Event()

    def handle(signum, _frame):
        LOG.info("signal %d: stopping", signum)
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        provisioner.run(stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
