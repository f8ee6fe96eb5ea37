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

Run: ``.venv/bin/python tests/lab/standins/provisioner.py [--kubeconfig] KUBECONFIG [--interval SECONDS]``.
It exits cleanly (status 0) on SIGTERM or SIGINT. ``main(argv)`` is the entry point.
"""
import argparse
import datetime
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


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


class Provisioner:
    """One reconcile pass per `sync()`; `run()` repeats it until the stop event is set."""

    def __init__(self, api_client, interval=1.0):
        self.core = client.CoreV1Api(api_client)
        self.storage = client.StorageV1Api(api_client)
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
        LOG.info("kaapana lab stand-in provisioner for %s started", ", ".join(PROVISIONERS))
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
