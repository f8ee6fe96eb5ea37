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
* Longhorn claims are provisioned only while the CSIDriver ``driver.longhorn.io`` exists (Longhorn installed);
  without it they stay Pending, as with real Longhorn uninstalled or never installed;
* Longhorn volumes are ``csi`` volumes of driver ``driver.longhorn.io`` (allowedTopologies of the
  class become node affinity), and VolumeAttachments of that driver are marked attached;
* PVs carry ``pv.kubernetes.io/provisioned-by``; Released PVs of ``Delete`` classes are deleted
  (``Retain`` ones are left alone).
(The backing directories of hostpath volumes would live inside the node containers; they are not created here.)

It also does the part of longhorn-manager's volume controller that decides what an uninstall and a purge delete:
every Longhorn PersistentVolume gets a ``volumes.longhorn.io`` object named after it (finalizer ``longhorn.io``,
``status.kubernetesStatus`` naming the PV and its PVC) in the Longhorn namespace, and one replica directory
``/var/lib/longhorn/replicas/<volume>-<8 hex>`` inside a node container (with ``--containers-conf``, through
``podman exec``). Deleting the object deletes the replica directories on every node, then the finalizer, as the real
manager deletes a volume's replicas. Real Longhorn's uninstaller (the chart's pre-delete Job ``longhorn-uninstall``,
``longhorn-manager uninstall --force``) deletes every volume of its namespace: here, while that Job exists, every
``volumes.longhorn.io`` object of its namespace is deleted.

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

Run: ``.venv/bin/python lab/standins/provisioner.py [--kubeconfig] KUBECONFIG [--interval SECONDS]``.
It exits cleanly (status 0) on SIGTERM or SIGINT. ``main(argv)`` is the entry point.
"""
import argparse
import datetime
import hashlib
import logging
import os
import signal
import subprocess
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
LONGHORN_FINALIZER = "longhorn.io"
LONGHORN_REPLICA_DIR = "/var/lib/longhorn/replicas"
LONGHORN_UNINSTALL_JOB = "longhorn-uninstall"


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


def provisionable_classes(storage_classes, csi_drivers):
    """The classes this stand-in provisions for, by name: MicroK8s' hostpath classes, and Longhorn's only while its
    CSIDriver is registered (Longhorn installed), as a claim of an uninstalled Longhorn stays Pending for real."""
    return {sc.metadata.name: sc for sc in storage_classes
            if sc.provisioner in PROVISIONERS and (sc.provisioner != LONGHORN or LONGHORN in csi_drivers)}


class Provisioner:
    """One reconcile pass per `sync()`; `run()` repeats it until the stop event is set."""

    def __init__(self, api_client, interval=1.0, node_exec=None):
        self.core = client.CoreV1Api(api_client)
        self.batch = client.BatchV1Api(api_client)
        # node_exec(node, argv) runs a command inside a node container (None: replica data is not kept)
        self.node_exec = node_exec
        self.storage = client.StorageV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)
        self.interval = interval
        self.identity = "%d-kaapana-lab-standin" % int(_now().timestamp() * 1000)

    # -- reconcile ----------------------------------------------------------------------------
    def sync(self):
        classes = provisionable_classes(self.storage.list_storage_class().items,
                                        {d.metadata.name for d in self.storage.list_csi_driver().items})
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
            managers = self.longhorn_managers()
        except ApiException as error:
            LOG.warning("longhorn-manager pods: %s %s", error.status, error.reason)
            return
        try:
            self.register_longhorn_nodes(managers)
        except ApiException as error:
            LOG.warning("longhorn nodes: %s %s", error.status, error.reason)
        try:
            self.longhorn_volumes(managers)
        except ApiException as error:
            LOG.warning("longhorn volumes: %s %s", error.status, error.reason)

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
        if pv.spec.csi is not None and pv.spec.csi.driver == LONGHORN:
            # Longhorn's CSI DeleteVolume deletes the Longhorn volume (and so its replicas) with the PV
            for namespace in self.longhorn_managers():
                try:
                    self.custom.delete_namespaced_custom_object(LONGHORN_GROUP, LONGHORN_VERSION, namespace,
                                                                "volumes", pv.spec.csi.volume_handle)
                except ApiException as error:
                    if error.status != 404:
                        raise

    def attach(self):
        for attachment in self.storage.list_volume_attachment().items:
            if attachment.spec.attacher != LONGHORN or attachment.metadata.deletion_timestamp:
                continue
            if attachment.status is not None and attachment.status.attached:
                continue
            self.storage.patch_volume_attachment_status(attachment.metadata.name, {"status": {"attached": True}})
            LOG.info("attached %s", attachment.metadata.name)

    # -- longhorn-manager's node registration ----------------------------------------------------------
    def register_longhorn_nodes(self, managers=None):
        """One nodes.longhorn.io object per node that runs a longhorn-manager pod (in its namespace); ``managers``:
        longhorn_managers() when the caller has read them already."""
        wanted = self.longhorn_managers() if managers is None else managers
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
            missing = sorted(set(wanted[namespace]) - have)
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

    # -- longhorn-manager's volumes -----------------------------------------------------------------------
    def longhorn_managers(self):
        """{namespace: sorted node names} of the scheduled longhorn-manager pods."""
        found = {}
        for pod in self.core.list_pod_for_all_namespaces(label_selector=LONGHORN_MANAGER_SELECTOR).items:
            if pod.spec.node_name and not pod.metadata.deletion_timestamp:
                found.setdefault(pod.metadata.namespace, set()).add(pod.spec.node_name)
        return {namespace: sorted(nodes) for namespace, nodes in found.items()}

    def longhorn_volumes(self, managers=None):
        """One volumes.longhorn.io object (and a replica directory) per Longhorn PV; deleted volumes lose their
        replicas; the uninstall Job deletes every volume of its namespace."""
        managers = self.longhorn_managers() if managers is None else managers
        volumes = {}
        for namespace in sorted(managers):
            try:
                listed = self.custom.list_namespaced_custom_object(LONGHORN_GROUP, LONGHORN_VERSION, namespace,
                                                                   "volumes")
            except ApiException as error:
                if error.status == 404:
                    continue  # the volumes.longhorn.io CRD is not installed (yet)
                raise
            volumes[namespace] = {item["metadata"]["name"]: item for item in listed.get("items", [])}
        uninstalling = {namespace for namespace in volumes if self.longhorn_uninstalling(namespace)}
        for namespace, existing in volumes.items():
            for item in existing.values():
                if item["metadata"].get("deletionTimestamp"):
                    self.finalize_longhorn_volume(namespace, item, managers.get(namespace, []))
            if namespace in uninstalling:
                for name, item in sorted(existing.items()):
                    if not item["metadata"].get("deletionTimestamp"):
                        self.custom.delete_namespaced_custom_object(LONGHORN_GROUP, LONGHORN_VERSION, namespace,
                                                                    "volumes", name)
                        LOG.info("longhorn uninstall: deleted volume %s/%s", namespace, name)
        known = {name for existing in volumes.values() for name in existing}
        for pv in self.core.list_persistent_volume().items:
            if pv.spec.csi is None or pv.spec.csi.driver != LONGHORN or pv.metadata.deletion_timestamp:
                continue
            name = pv.spec.csi.volume_handle
            if name in known or (pv.metadata.annotations or {}).get(STANDIN_ANNOTATION) != "provisioner":
                continue
            namespace = self.longhorn_namespace_for(managers, volumes)
            if namespace is None or namespace in uninstalling:
                continue
            self.create_longhorn_volume(namespace, pv, managers[namespace])

    def longhorn_uninstalling(self, namespace):
        try:
            self.batch.read_namespaced_job(LONGHORN_UNINSTALL_JOB, namespace)
        except ApiException as error:
            if error.status == 404:
                return False
            raise
        return True

    @staticmethod
    def longhorn_namespace_for(managers, volumes):
        """The Longhorn installation that serves a PV: a lab cluster runs one at a time; the first if more."""
        candidates = [namespace for namespace in sorted(managers) if namespace in volumes]
        return candidates[0] if candidates else None

    def create_longhorn_volume(self, namespace, pv, nodes):
        name = pv.spec.csi.volume_handle
        claim = pv.spec.claim_ref
        replica = "%s/%s-%s" % (LONGHORN_REPLICA_DIR, name, hashlib.sha256(name.encode()).hexdigest()[:8])
        node = nodes[0] if nodes else ""
        body = {"apiVersion": "%s/%s" % (LONGHORN_GROUP, LONGHORN_VERSION), "kind": "Volume",
                "metadata": {"name": name, "namespace": namespace, "finalizers": [LONGHORN_FINALIZER],
                             "labels": {"longhornvolume": name},
                             "annotations": {STANDIN_ANNOTATION: "provisioner",
                                             "kaapana.lab/replica": "%s:%s" % (node, replica)}},
                "spec": {"size": (pv.spec.capacity or {}).get("storage", "1Gi"), "frontend": "blockdev",
                         "numberOfReplicas": int((pv.spec.csi.volume_attributes or {}).get("numberOfReplicas", "1")),
                         "dataEngine": "v1"}}
        try:
            self.custom.create_namespaced_custom_object(LONGHORN_GROUP, LONGHORN_VERSION, namespace, "volumes", body)
        except ApiException as error:
            if error.status == 409:
                return
            raise
        status = {"state": "attached", "robustness": "healthy",
                  "kubernetesStatus": {"pvName": pv.metadata.name, "pvStatus": (pv.status.phase if pv.status else ""),
                                       "namespace": claim.namespace if claim else "",
                                       "pvcName": claim.name if claim else "", "workloadsStatus": []}}
        try:
            self.custom.patch_namespaced_custom_object_status(LONGHORN_GROUP, LONGHORN_VERSION, namespace, "volumes",
                                                              name, {"status": status})
        except ApiException as error:
            LOG.warning("status of Longhorn volume %s/%s: %s %s", namespace, name, error.status, error.reason)
        if self.node_exec and node:
            self.node_exec(node, ["mkdir", "-p", replica])
        LOG.info("created Longhorn volume %s/%s for PV %s (replica %s:%s)", namespace, name, pv.metadata.name, node,
                 replica)

    def finalize_longhorn_volume(self, namespace, item, nodes):
        """A deleted volume loses its replicas (its data) on every node, then its finalizer."""
        name = item["metadata"]["name"]
        finalizers = item["metadata"].get("finalizers") or []
        if LONGHORN_FINALIZER not in finalizers:
            return
        if self.node_exec:
            for node in nodes:
                self.node_exec(node, ["sh", "-c", "rm -rf %s/%s-*" % (LONGHORN_REPLICA_DIR, name)])
        patch = {"metadata": {"finalizers": [f for f in finalizers if f != LONGHORN_FINALIZER]}}
        self.custom.patch_namespaced_custom_object(LONGHORN_GROUP, LONGHORN_VERSION, namespace, "volumes", name, patch)
        LOG.info("deleted Longhorn volume %s/%s and its replicas", namespace, name)

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


def podman_node_exec(containers_conf):
    """A node_exec that runs a command inside a node container: the Kubernetes node name is the container's host
    name, the container name itself or NAME.DOMAIN for an FQDN-named node (lab container names have no dots)."""
    env = dict(os.environ, CONTAINERS_CONF=containers_conf)

    def node_exec(node, argv):
        container = node.split(".")[0]
        proc = subprocess.run(["podman", "exec", container] + list(argv), env=env, capture_output=True, text=True,
                              timeout=60, check=False)
        if proc.returncode != 0:
            LOG.warning("podman exec %s %s: %s", node, " ".join(argv), proc.stderr.strip()[-300:])
        return proc.returncode
    return node_exec


def main(argv=None):
    parser = argparse.ArgumentParser(prog="provisioner.py",
                                     description="kaapana lab stand-in for the microk8s.io/hostpath and "
                                                 "driver.longhorn.io provisioners")
    parser.add_argument("kubeconfig_path", nargs="?", metavar="KUBECONFIG", help="admin kubeconfig of the lab API")
    parser.add_argument("--kubeconfig", dest="kubeconfig_flag", metavar="KUBECONFIG",
                        help="the same, as an option")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between reconcile passes")
    parser.add_argument("--once", action="store_true", help="run one reconcile pass and exit")
    parser.add_argument("--containers-conf", metavar="PATH",
                        help="podman's containers.conf of the lab: keep Longhorn replica data in the node containers")
    args = parser.parse_args(argv)
    kubeconfig = args.kubeconfig_flag or args.kubeconfig_path
    if not kubeconfig:
        parser.error("a kubeconfig is required")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s kaapana-lab-provisioner %(levelname)s %(message)s")
    api_client = config.new_client_from_config(config_file=kubeconfig)
    # Its own user agent, so benchmarks that count API requests by client can leave it out.
    api_client.user_agent = "kaapana-lab-provisioner/1"
    provisioner = Provisioner(api_client, interval=args.interval,
                              node_exec=podman_node_exec(args.containers_conf) if args.containers_conf else None)
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
