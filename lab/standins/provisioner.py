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

It also does longhorn-manager's part in backups (Longhorn v1.10.1). BackupTarget ``default`` (backuptargets.longhorn.io)
is created or updated from ConfigMap ``longhorn-default-resource`` (the chart's ``defaultBackupStore`` values) exactly
when the real manager does it (datastore CreateOrUpdateDefaultBackupTarget): when a manager pod starts running and
whenever the ConfigMap changes, never in between, so an edit by hand survives until then; keys the ConfigMap has
overwrite the fields, keys it lacks leave them alone. What Longhorn's admission webhook refuses (an unsupported
protocol, "$" or "," in the path, a credential value with surrounding whitespace) is not written; a starting manager
then crash-loops, as the real one exits, until the ConfigMap is fixed. Every BackupTarget gets the status the backup
target controller sets (available, condition Unavailable with Longhorn's messages): the lab contacts no backup store,
so a well-formed URL of a supported protocol counts as reachable once the credential Secret the client needs (s3,
cifs, azblob) is in the Longhorn namespace with its keys; an ``nfs://host:/path`` counts as reachable as it is.
RecurringJobs get the webhook's defaults (spec.name, groups, labels, parameters, retain) and an owner; Longhorn
volumes get their recurring job labels (the class's recurringJobSelector, a PVC's with the source label, else the
default group). While the uninstall Job exists, the BackupTargets and RecurringJobs are deleted too. Secret values
are never logged.

Run: ``.venv/bin/python lab/standins/provisioner.py [--kubeconfig] KUBECONFIG [--interval SECONDS]``.
It exits cleanly (status 0) on SIGTERM or SIGINT. ``main(argv)`` is the entry point.
"""
import argparse
import base64
import binascii
import datetime
import hashlib
import json
import logging
import os
import re
import signal
import sys
import threading
import urllib.parse

import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException

try:
    from lab.standins.common import podman_node_exec
except ImportError:  # run as a script: this folder is sys.path[0]
    from common import podman_node_exec

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
# longhorn-manager's default backup target (datastore CreateOrUpdateDefaultBackupTarget, controller/backup_target_controller.go)
LONGHORN_DEFAULT_RESOURCE = "longhorn-default-resource"  # the ConfigMap the chart renders from defaultBackupStore
LONGHORN_DEFAULT_RESOURCE_KEY = "default-resource.yaml"
LONGHORN_BACKUP_TARGET = "default"
LONGHORN_DEFAULT_POLL_INTERVAL = 300  # types.DefaultBackupstorePollInterval, seconds
LONGHORN_ENGINE_IMAGE = "longhornio/longhorn-engine:v1.10.1"  # the default engine image, named in client errors
LONGHORN_BACKUP_SCHEMES = ("s3", "nfs", "cifs", "azblob")
LONGHORN_CREDENTIAL_SCHEMES = ("s3", "cifs", "azblob")  # types.BackupStoreRequireCredential
LONGHORN_DELETE_BACKUP_TARGET = "longhorn.io/delete-backup-target-from-longhorn"
# the Secret keys the webhook checks for leading/trailing whitespace (webhook/resources/backuptarget/validator.go)
LONGHORN_CREDENTIAL_KEYS = ("iam.amazonaws.com/role", "AWS_IAM_ROLE_ARN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                            "AWS_ENDPOINTS", "AWS_CERT", "CIFS_USERNAME", "CIFS_PASSWORD", "AZBLOB_ACCOUNT_NAME",
                            "AZBLOB_ACCOUNT_KEY", "AZBLOB_ENDPOINT", "AZBLOB_CERT", "HTTPS_PROXY", "HTTP_PROXY",
                            "NO_PROXY", "VIRTUAL_HOSTED_STYLE")
# a manager pod the stand-in made crash-loop (its startup sync of the default backup target failed)
LONGHORN_CRASHLOOP_ANNOTATION = "kaapana.lab/standin-crashloop"
# recurring jobs: volume labels (types.GetRecurringJobLabelKey) and the group every volume without one joins
RECURRING_JOB_PREFIX = "recurring-job.longhorn.io"
RECURRING_GROUP_PREFIX = "recurring-job-group.longhorn.io"
RECURRING_SOURCE_LABEL = "recurring-job.longhorn.io/source"
RECURRING_DEFAULT_GROUP_LABEL = "recurring-job-group.longhorn.io/default"


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


# -- longhorn-manager's default backup target and recurring jobs: pure functions ---------------------------------------
class LonghornAdmissionError(Exception):
    """A create or update Longhorn's admission webhook (in the lab: the chart's ValidatingAdmissionPolicies) refuses."""


QUANTITY_SUFFIXES = {"": 1, "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18,
                     "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60}


def quantity_bytes(text):
    """A Kubernetes quantity in bytes (the suffixes a storage request uses); None when it is not one."""
    match = re.match(r"^([0-9]+(?:\.[0-9]+)?)([kMGTPE]i?|)$", str(text or "").strip())
    if not match or match.group(2) == "ki":
        return None
    return int(float(match.group(1)) * QUANTITY_SUFFIXES[match.group(2)])


def resize_step(pvc, pv, expandable, mounted):
    """What the CSI external-resizer and then the kubelet do next for a bound claim (Longhorn's driver supports
    offline and online expansion; its volumes need a file-system resize on the node, NodeExpandVolume):
    'expand' (ControllerExpandVolume: the PV's capacity becomes the request, the claim gets FileSystemResizePending),
    'finish' (a running pod mounts it: the kubelet grows the file system and the claim's status.capacity follows),
    or None. expandable: the class allows expansion and is Longhorn's; mounted: a running pod uses the claim."""
    requested = quantity_bytes(((pvc.get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage"))
    capacity = quantity_bytes(((pv.get("spec") or {}).get("capacity") or {}).get("storage"))
    status = pvc.get("status") or {}
    if requested is None or capacity is None or not expandable:
        return None
    if requested > capacity:
        return "expand"
    pending = any(c.get("type") == "FileSystemResizePending" for c in status.get("conditions") or [])
    if pending and mounted:
        return "finish"
    return None


def go_duration(seconds):
    """Go's time.Duration.String() of whole seconds, as metav1.Duration serialises spec.pollInterval: 300 -> 5m0s."""
    sign, seconds = ("-", -int(seconds)) if int(seconds) < 0 else ("", int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return "%s%dh%dm%ds" % (sign, hours, minutes, secs)
    if minutes:
        return "%s%dm%ds" % (sign, minutes, secs)
    return "%s%ds" % (sign, secs)


_GO_DURATION_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
_GO_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def parse_go_duration(text):
    """Go's time.ParseDuration in seconds (what metav1.Duration reads from spec.pollInterval); None if Go refuses it."""
    if not isinstance(text, str):
        return None
    sign, rest = (-1, text[1:]) if text[:1] == "-" else (1, text[1:] if text[:1] == "+" else text)
    if rest == "0":
        return 0.0
    total, pos = 0.0, 0
    for match in _GO_DURATION_PART.finditer(rest):
        if match.start() != pos or match.group(1) in ("", "."):
            return None
        total += float(match.group(1)) * _GO_DURATION_UNITS[match.group(2)]
        pos = match.end()
    return sign * total if rest and pos == len(rest) else None


_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


def go_url(raw):
    """The parts of Go's url.Parse a backup target is judged by: scheme (lower case), user (name only), host, path
    (decoded; no query or fragment). Raises ValueError with Go's message for what url.Parse refuses (a first path
    segment with a colon, a port that is not a number)."""
    rest = raw.split("#", 1)[0]
    match = _URL_SCHEME.match(rest)
    scheme = ""
    if match:
        scheme, rest = match.group(1).lower(), rest[match.end():]
    elif raw.startswith(":"):
        raise ValueError('parse "%s": missing protocol scheme' % raw)
    elif ":" in rest.split("/", 1)[0]:
        raise ValueError('parse "%s": first path segment in URL cannot contain colon' % raw)
    rest = rest.split("?", 1)[0]
    user = host = ""
    if rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        path = slash + path
        user, _at, host = authority.rpartition("@")
        port = host.rpartition(":")[2] if ":" in host and not host.startswith("[") else ""
        if port and not port.isdigit():
            raise ValueError('parse "%s": invalid port ":%s" after host' % (raw, port))
    else:
        path = rest if not scheme or rest.startswith("/") else ""  # "scheme:opaque" has no path
    return {"raw": raw, "scheme": scheme, "user": urllib.parse.unquote(user.split(":", 1)[0]), "host": host,
            "path": urllib.parse.unquote(path)}


def longhorn_backup_target_path(parts):
    """datastore getBackupTargetPath: what two backup targets must not share; None for an unsupported protocol."""
    if parts["scheme"] in ("s3", "azblob"):
        return parts["raw"].lower()
    if parts["scheme"] in ("nfs", "cifs"):
        return (parts["host"] + parts["path"]).rstrip("/").lower()
    return None


def longhorn_default_resource(text):
    """util.GetDataContentFromYAML: the map[string]string gopkg.in/yaml.v2 makes of ConfigMap longhorn-default-resource's
    default-resource.yaml: each value as its scalar text (a number stays as written), null and empty as "". Raises
    ValueError for what does not unmarshal (not YAML, not a mapping, a list or map as a value)."""
    try:
        node = yaml.compose(text or "", Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        raise ValueError("yaml: %s" % " ".join(str(error).split())) from None
    if node is None:
        return {}
    if not isinstance(node, yaml.MappingNode):
        raise ValueError("yaml: unmarshal errors: cannot unmarshal %s into map[string]string" % node.tag.split(":")[-1])
    params = {}
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode) or not isinstance(value, yaml.ScalarNode):
            raise ValueError("yaml: unmarshal errors: cannot unmarshal %s into string" % value.tag.split(":")[-1])
        params[key.value] = "" if value.tag == "tag:yaml.org,2002:null" else value.value
    return params


def longhorn_backup_target_spec(params, existing=None, now=None):
    """What longhorn-manager's CreateOrUpdateDefaultBackupTarget makes of the ConfigMap's parameters: the spec of a new
    BackupTarget "default" (``existing`` None), or the spec an existing one is updated to, where a key the ConfigMap
    lacks keeps the existing value and a key it has (even empty) replaces it; None when nothing would change.
    Raises ValueError for a poll interval strconv.ParseInt refuses."""
    poll = LONGHORN_DEFAULT_POLL_INTERVAL
    poll_text = params.get("backupstore-poll-interval", "")
    if poll_text != "":
        if not re.fullmatch(r"[+-]?[0-9]+", poll_text):
            raise ValueError('strconv.ParseInt: parsing "%s": invalid syntax' % poll_text)
        poll = int(poll_text)
        if not -2 ** 63 <= poll < 2 ** 63:
            raise ValueError('strconv.ParseInt: parsing "%s": value out of range' % poll_text)
    spec = {"backupTargetURL": params.get("backup-target", ""),
            "credentialSecret": params.get("backup-target-credential-secret", ""), "pollInterval": go_duration(poll)}
    if existing is None:
        spec["syncRequestedAt"] = None
        return spec
    old_poll = existing.get("pollInterval") or "0s"
    if "backup-target" not in params:
        spec["backupTargetURL"] = existing.get("backupTargetURL") or ""
    if "backup-target-credential-secret" not in params:
        spec["credentialSecret"] = existing.get("credentialSecret") or ""
    if "backupstore-poll-interval" not in params:
        seconds = parse_go_duration(old_poll)
        spec["pollInterval"] = old_poll if seconds is None or seconds != int(seconds) else go_duration(seconds)
    if (spec["backupTargetURL"] == (existing.get("backupTargetURL") or "")
            and spec["credentialSecret"] == (existing.get("credentialSecret") or "")
            and parse_go_duration(spec["pollInterval"]) == parse_go_duration(old_poll)):
        return None
    spec["syncRequestedAt"] = now or _now().strftime("%Y-%m-%dT%H:%M:%SZ")
    return spec


def _secret_values(data):
    values = {}
    for key, value in (data or {}).items():
        try:
            values[key] = base64.b64decode(value or "").decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            values[key] = ""
    return values


def longhorn_backup_target_admission(name, spec, old_spec=None, secret=None, others=()):
    """What Longhorn's admission webhook says to creating (``old_spec`` None) or updating a BackupTarget: None when it
    allows it, else its message. It checks the name on create, the URL when it is new or changed (parse, "$"/"," in the
    path, the protocol, another target with the same location) and the credential Secret when it is new or changed (no
    value with leading or trailing whitespace or newline). ``secret``: that Secret's data (base64, as the API returns
    it; None when it does not exist); ``others``: (name, URL) of the namespace's BackupTargets."""
    url = spec.get("backupTargetURL") or ""
    if old_spec is None:
        if not re.match(r"^[a-z0-9][a-z0-9_.-]+$", name):
            return "invalid name %s" % name
        check_url = check_secret = True
    else:
        check_url = url != (old_spec.get("backupTargetURL") or "")
        check_secret = (spec.get("credentialSecret") or "") != (old_spec.get("credentialSecret") or "")
    if check_url and url:
        try:
            parts = go_url(url)
        except ValueError as error:
            return "failed to parse %s as url: %s" % (url, error)
        found = re.findall(r"[,]" if parts["scheme"] == "cifs" else r"[$,]", parts["path"])
        if found:
            return "url %s, contains %s" % (url, " or ".join(found))
        location = longhorn_backup_target_path(parts)
        if location is None:
            return "url %s with the unsupported protocol %s" % (url, parts["scheme"])
        for other_name, other_url in others:
            try:
                other = go_url(other_url or "")
            except ValueError as error:
                return "failed to parse %s as url: %s" % (other_url, error)
            if other_name != name and other["scheme"] == parts["scheme"] and \
                    longhorn_backup_target_path(other) == location:
                return "url %s is the same to backup target %s" % (url, other_name)
    if check_secret and secret is not None:
        values = _secret_values(secret)
        errors = []
        for key in LONGHORN_CREDENTIAL_KEYS:
            value = values.get(key)
            if value is None or value.strip() == value:
                continue
            for test, what in ((value.startswith(" "), "leading whitespace"), (value.endswith(" "), "trailing whitespace"),
                               (value.startswith("\n"), "leading newline"), (value.endswith("\n"), "trailing newline")):
                if test:
                    errors.append("invalid %s in %s" % (what, key))
        if errors:
            return "credential validation error(s): %s" % "; ".join(errors)
    return None


def longhorn_backup_target_availability(name, spec, secret, engine_image=LONGHORN_ENGINE_IMAGE):
    """(available, message) as longhorn-manager's backup target controller sets status.available and the Unavailable
    condition's message. ``secret``: the data of the Secret spec.credentialSecret in the Longhorn namespace (None: it
    does not exist). Nothing is contacted: a well-formed URL of a supported protocol counts as reachable once the
    credentials the client needs are there (the lab has no NFS server, S3 or Azure to ask). The messages are the real
    ones; for what the engine binary would report (a malformed URL, a refused login) the binary's own error is given
    without the exec wrapper around it."""
    url = spec.get("backupTargetURL") or ""
    if not url:
        return False, "backup target URL is empty"
    client_error = "failed to init backup target clients: failed to get %s backup target client on %s: " % (
        name, engine_image)
    try:
        parts = go_url(url)
    except ValueError as error:
        return False, client_error + str(error)
    scheme, secret_name = parts["scheme"], spec.get("credentialSecret") or ""
    if scheme in LONGHORN_CREDENTIAL_SCHEMES:
        if not secret_name:
            return False, client_error + "could not access %s without credential secret" % scheme
        if secret is None:
            return False, client_error + 'secret "%s" not found' % secret_name
    list_error = "failed to list system backups in %s: error listing system backup in %s: " % (url, url)
    values = _secret_values(secret) if scheme in LONGHORN_CREDENTIAL_SCHEMES else {}
    if scheme == "s3":
        missing = [key for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") if not values.get(key)]
        if missing and not values.get("AWS_IAM_ROLE_ARN"):
            return False, list_error + "could not backup to s3, missing [%s] in the secret" % " ".join(missing)
    if scheme not in LONGHORN_BACKUP_SCHEMES:
        return False, list_error + "driver %s is not supported" % scheme
    container = parts["user"] or parts["host"]
    if scheme == "nfs" and not parts["host"]:
        return False, list_error + "NFS path must follow format: nfs://<server-address>:/<share-name>/"
    if scheme == "nfs" and not parts["path"]:
        return False, list_error + "cannot find nfs path"
    if scheme == "cifs" and not parts["host"]:
        return False, list_error + "CIFS path must follow format: cifs://<server-address>/<share-name>/"
    if scheme == "cifs" and not parts["path"]:
        return False, list_error + "cannot find CIFS path"
    if scheme == "s3" and not (container and parts["path"]):
        return False, list_error + "invalid URL. Must be either s3://bucket@region/path/, or s3://bucket/path"
    if scheme == "azblob" and not (container and parts["path"]):
        return False, list_error + ("invalid URL. Must be either azblob://container@serviceurl/path/, or "
                                    "azblob://container/path")
    needed = {"cifs": ("CIFS_USERNAME", "CIFS_PASSWORD"),
              "azblob": ("AZBLOB_ACCOUNT_NAME", "AZBLOB_ACCOUNT_KEY")}.get(scheme, ())
    missing = [key for key in needed if not values.get(key)]
    if missing:
        # the real client passes empty credentials on and the share or storage account refuses the login
        return False, list_error + "lab stand-in: the credential secret %s has no %s, so the %s backup store refuses " \
                                   "the login" % (secret_name, " or ".join(missing), scheme)
    return True, ""


def longhorn_backup_target_status(status, available, message, owner, spec, now):
    """The status the backup target controller writes (ownerID, available, the Unavailable condition with its
    transition time, lastSyncedAt once available); None when ``status`` has all of it already."""
    status = status or {}
    conditions = [dict(c) for c in status.get("conditions") or []]
    wanted = "False" if available else "True"
    old = next((c for c in conditions if c.get("type") == "Unavailable"), None)
    condition = {"type": "Unavailable", "status": wanted, "reason": "" if available else "Unavailable",
                 "message": "" if available else message, "lastProbeTime": "",
                 "lastTransitionTime": old.get("lastTransitionTime", "") if old and old.get("status") == wanted else now}
    conditions = [condition if c is old else c for c in conditions] if old else conditions + [condition]
    synced = status.get("lastSyncedAt")
    if available and (not synced or (spec.get("syncRequestedAt") or "") > synced):
        synced = now
    new = {"ownerID": owner, "available": available, "conditions": conditions, "lastSyncedAt": synced}
    return None if all(status.get(key) == value for key, value in new.items()) else new


def longhorn_recurring_job_defaults(job):
    """The merge patch Longhorn's recurringjob mutator makes to a RecurringJob (spec.name from metadata.name, empty
    groups/labels/parameters, retain 0 for snapshot-cleanup and filesystem-trim, at least 0 for snapshot-delete, at
    least 1 for the other tasks); None when there is nothing to change."""
    spec, patch = job.get("spec") or {}, {}
    if not spec.get("name"):
        patch["name"] = job["metadata"]["name"]
    for key, empty in (("groups", []), ("labels", {}), ("parameters", {})):
        if spec.get(key) is None:
            patch[key] = empty
    task, retain = spec.get("task"), spec.get("retain") or 0
    if task in ("snapshot-cleanup", "filesystem-trim"):
        wanted = 0
    elif task == "snapshot-delete":
        wanted = max(retain, 0)
    else:
        wanted = max(retain, 1)
    if wanted != retain:
        patch["retain"] = wanted
    return {"spec": patch} if patch else None


def longhorn_is_recurring_label(key):
    """types.IsRecurringJobLabel: recurring-job.longhorn.io/<job> or recurring-job-group.longhorn.io/<group>."""
    return key != RECURRING_SOURCE_LABEL and (key.startswith(RECURRING_JOB_PREFIX)
                                              or key.startswith(RECURRING_GROUP_PREFIX))


def longhorn_volume_recurring_labels(labels, pvc_labels=None):
    """A Longhorn volume's labels after the volume controller's updateRecurringJobs: a PVC labelled
    recurring-job.longhorn.io/source=enabled hands its recurring job labels to the volume (and the volume loses the
    others); a volume without any recurring-job(-group) label joins the default group."""
    labels = dict(labels or {})
    if pvc_labels is not None and pvc_labels.get(RECURRING_SOURCE_LABEL) == "enabled":
        for key, value in list(labels.items()):
            if longhorn_is_recurring_label(key) and pvc_labels.get(key) != value:
                del labels[key]
        labels.update({key: value for key, value in pvc_labels.items() if longhorn_is_recurring_label(key)})
    if not any(key.startswith(RECURRING_JOB_PREFIX) or key.startswith(RECURRING_GROUP_PREFIX) for key in labels):
        labels[RECURRING_DEFAULT_GROUP_LABEL] = "enabled"
    return labels


def _json_kind(value):
    return {dict: "object", list: "array", str: "string", bool: "bool"}.get(type(value), "number")


def longhorn_recurring_job_selector(text):
    """The volume labels a StorageClass parameter recurringJobSelector gives (csi getVolumeOptions, VolumeManager.Create):
    recurring-job(-group).longhorn.io/<name>: enabled per entry. Raises ValueError with the CSI driver's message for
    what json.Unmarshal into []VolumeRecurringJob refuses (e.g. the chart's Go rendering of a YAML list)."""
    prefix = "invalid json format of recurringJobSelector: "
    try:
        jobs = json.loads(text)
    except ValueError as error:
        raise ValueError(prefix + str(error)) from None
    if not isinstance(jobs, (list, type(None))):
        raise ValueError(prefix + "json: cannot unmarshal %s into Go value of type []client.VolumeRecurringJob"
                         % _json_kind(jobs))
    labels = {}
    for job in jobs or []:
        if not isinstance(job, (dict, type(None))):
            raise ValueError(prefix + "json: cannot unmarshal %s into Go value of type client.VolumeRecurringJob"
                             % _json_kind(job))
        name, is_group = (job or {}).get("name") or "", (job or {}).get("isGroup") or False
        if not isinstance(name, str):
            raise ValueError(prefix + "json: cannot unmarshal %s into Go struct field VolumeRecurringJob.name of "
                                      "type string" % _json_kind(name))
        if not isinstance(is_group, bool):
            raise ValueError(prefix + "json: cannot unmarshal %s into Go struct field VolumeRecurringJob.isGroup of "
                                      "type bool" % _json_kind(is_group))
        labels["%s/%s" % (RECURRING_GROUP_PREFIX if is_group else RECURRING_JOB_PREFIX, name)] = "enabled"
    return labels


def go_url_scheme(raw):
    try:
        return go_url(raw)["scheme"] if raw else ""
    except ValueError:
        return ""


def _api_message(error):
    """The message of an API error's Status body (an admission denial's text), else its reason."""
    try:
        return json.loads(error.body)["message"]
    except (TypeError, ValueError, KeyError):
        return "%s %s" % (error.status, error.reason)


def longhorn_manager_running(pod):
    """The manager container runs (KWOK started it; not a faulted or crash-looping pod)."""
    status = pod.status
    return bool(status is not None and status.phase == "Running" and any(
        cs.state is not None and cs.state.running is not None for cs in status.container_statuses or []))


def longhorn_engine_image(pods):
    """The engine image the managers run with (their --engine-image argument)."""
    for pod in pods:
        for container in pod.spec.containers or []:
            args = list(container.args or [])
            if "--engine-image" in args[:-1]:
                return args[args.index("--engine-image") + 1]
    return LONGHORN_ENGINE_IMAGE


class _LonghornState:
    """What the stand-in remembers between passes, as a running longhorn-manager would."""

    def __init__(self):
        self.seen = set()          # namespaces looked at once since the stand-in started
        self.started = {}          # namespace -> uids of manager pods whose startup sync ran
        self.crashing = {}         # namespace -> {uid: pod name}: crash-looping, their startup sync failed
        self.configmaps = {}       # namespace -> (uid, resourceVersion) of longhorn-default-resource last synced
        self.availability = {}     # (namespace, name) -> (available, message) last logged
        self.refused_claims = set()  # PVC uids whose recurringJobSelector the CSI driver refused (event sent)
        self.warned = set()        # (namespace, name, resourceVersion) of RecurringJobs whose update failed


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
        pvcs = self.core.list_persistent_volume_claim_for_all_namespaces().items
        for pvc in pvcs:
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
            self.resize(pvcs, pvs)
        except ApiException as error:
            LOG.warning("volume expansion: %s %s", error.status, error.reason)
        try:
            pods = self.longhorn_manager_pods()
        except ApiException as error:
            LOG.warning("longhorn-manager pods: %s %s", error.status, error.reason)
            return
        managers = self.longhorn_managers(pods)
        try:
            self.register_longhorn_nodes(managers)
        except ApiException as error:
            LOG.warning("longhorn nodes: %s %s", error.status, error.reason)
        try:
            self.longhorn_volumes(managers, {(c.metadata.namespace, c.metadata.name): c for c in pvcs})
        except ApiException as error:
            LOG.warning("longhorn volumes: %s %s", error.status, error.reason)
        try:
            self.longhorn_backup_targets(pods)
        except ApiException as error:
            LOG.warning("longhorn backup targets: %s %s", error.status, error.reason)
        try:
            self.longhorn_recurring_jobs(managers)
        except ApiException as error:
            LOG.warning("longhorn recurring jobs: %s %s", error.status, error.reason)

    def _longhorn(self):
        """The stand-in's memory of longhorn-manager's state (made on first use)."""
        state = self.__dict__.get("_longhorn_state")
        if state is None:
            state = self.__dict__["_longhorn_state"] = _LonghornState()
        return state

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
        selector = (sc.parameters or {}).get("recurringJobSelector") if sc.provisioner == LONGHORN else None
        if selector is not None:
            try:
                longhorn_recurring_job_selector(selector)
            except ValueError as error:
                # Longhorn's CSI CreateVolume refuses the class's parameters: the claim stays Pending
                self.refuse_claim(pvc, sc, "rpc error: code = InvalidArgument desc = %s" % error)
                return None
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

    def refuse_claim(self, pvc, sc, reason):
        """The external-provisioner's report of a failed CreateVolume (once per claim here; it retries and counts)."""
        refused = self._longhorn().refused_claims
        if pvc.metadata.uid in refused:
            return
        refused.add(pvc.metadata.uid)
        LOG.warning("provisioning %s/%s failed: %s", pvc.metadata.namespace, pvc.metadata.name, reason)
        self.event(pvc, "ProvisioningFailed", 'failed to provision volume with StorageClass "%s": %s'
                   % (sc.metadata.name, reason), sc.provisioner, kind="Warning")

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

    def resize(self, pvcs, pvs):
        """The CSI external-resizer and the kubelet's NodeExpandVolume for Longhorn's claims (resize_step). The API
        server's PersistentVolumeClaimResize admission already refused a larger request on a class without
        allowVolumeExpansion, and a smaller one on every class."""
        longhorn_classes = {sc.metadata.name for sc in self.storage.list_storage_class().items
                            if sc.provisioner == LONGHORN and sc.allow_volume_expansion}
        mounted = set()
        for pod in self.core.list_pod_for_all_namespaces().items:
            if pod.status is None or pod.status.phase != "Running" or pod.metadata.deletion_timestamp:
                continue
            for volume in pod.spec.volumes or []:
                if volume.persistent_volume_claim is not None:
                    mounted.add((pod.metadata.namespace, volume.persistent_volume_claim.claim_name))
        serializer = client.ApiClient()
        for pvc in pvcs:
            pv = pvs.get(pvc.spec.volume_name or "")
            if pv is None or pvc.metadata.deletion_timestamp:
                continue
            key = (pvc.metadata.namespace, pvc.metadata.name)
            raw_pvc = serializer.sanitize_for_serialization(pvc)
            step = resize_step(raw_pvc, serializer.sanitize_for_serialization(pv),
                               pvc.spec.storage_class_name in longhorn_classes, key in mounted)
            size = pvc.spec.resources.requests["storage"] if step else None
            if step == "expand":
                self.event(pvc, "Resizing", "External resizer is resizing volume %s" % pv.metadata.name,
                           "external-resizer %s" % LONGHORN)
                if pv.spec.csi is not None:
                    for namespace in self.longhorn_managers():
                        try:
                            self.custom.patch_namespaced_custom_object(
                                LONGHORN_GROUP, LONGHORN_VERSION, namespace, "volumes", pv.spec.csi.volume_handle,
                                {"spec": {"size": str(quantity_bytes(size))}})
                        except ApiException as error:
                            if error.status != 404:
                                raise
                self.core.patch_persistent_volume(pv.metadata.name, {"spec": {"capacity": {"storage": size}}})
                now = _now().isoformat()
                conditions = [c for c in (raw_pvc.get("status") or {}).get("conditions") or []
                              if c.get("type") not in ("Resizing", "FileSystemResizePending")]
                conditions.append({"type": "FileSystemResizePending", "status": "True", "lastTransitionTime": now,
                                   "message": "Waiting for user to (re-)start a pod to finish file system resize of "
                                              "volume on node."})
                self.core.patch_namespaced_persistent_volume_claim_status(
                    pvc.metadata.name, pvc.metadata.namespace, {"status": {"conditions": conditions}})
                self.event(pvc, "FileSystemResizeRequired", "Require file system resize of volume on node",
                           "external-resizer %s" % LONGHORN)
                LOG.info("expanded %s of %s/%s to %s (file system resize pending)", pv.metadata.name,
                         pvc.metadata.namespace, pvc.metadata.name, size)
            elif step == "finish":
                capacity = pv.spec.capacity["storage"]
                conditions = [c for c in (raw_pvc.get("status") or {}).get("conditions") or []
                              if c.get("type") != "FileSystemResizePending"]
                self.core.patch_namespaced_persistent_volume_claim_status(
                    pvc.metadata.name, pvc.metadata.namespace,
                    {"status": {"capacity": {"storage": capacity}, "conditions": conditions or None,
                                "allocatedResources": {"storage": capacity}}})
                self.event(pvc, "FileSystemResizeSuccessful", "MountVolume.NodeExpandVolume succeeded for volume "
                           "\"%s\"" % pv.metadata.name, "kubelet")
                LOG.info("file system of %s/%s grown to %s", pvc.metadata.namespace, pvc.metadata.name, capacity)

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
            existing = self.longhorn_objects(namespace, "nodes")
            if existing is None:
                continue  # the nodes.longhorn.io CRD is not installed (yet)
            have = {item["metadata"]["name"] for item in existing}
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
    def longhorn_manager_pods(self):
        return self.core.list_pod_for_all_namespaces(label_selector=LONGHORN_MANAGER_SELECTOR).items

    def longhorn_managers(self, pods=None):
        """{namespace: sorted node names} of the scheduled longhorn-manager pods (``pods``: longhorn_manager_pods() when
        the caller has listed them already)."""
        found = {}
        for pod in self.longhorn_manager_pods() if pods is None else pods:
            if pod.spec.node_name and not pod.metadata.deletion_timestamp:
                found.setdefault(pod.metadata.namespace, set()).add(pod.spec.node_name)
        return {namespace: sorted(nodes) for namespace, nodes in found.items()}

    def longhorn_volumes(self, managers=None, pvcs=None):
        """One volumes.longhorn.io object (and a replica directory) per Longhorn PV; deleted volumes lose their
        replicas; the uninstall Job deletes every volume of its namespace. The volumes' recurring job labels follow
        their PVCs' (``pvcs``: {(namespace, name): claim} when the caller has listed them) as the volume controller's."""
        managers = self.longhorn_managers() if managers is None else managers
        volumes = {}
        for namespace in sorted(managers):
            listed = self.longhorn_objects(namespace, "volumes")
            if listed is None:
                continue  # the volumes.longhorn.io CRD is not installed (yet)
            volumes[namespace] = {item["metadata"]["name"]: item for item in listed}
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
        for namespace, existing in volumes.items():
            if namespace not in uninstalling:
                for item in existing.values():
                    if not item["metadata"].get("deletionTimestamp"):
                        self.label_longhorn_volume(namespace, item, pvcs)
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

    def longhorn_objects(self, namespace, plural):
        """The items of a Longhorn custom resource in namespace, or None while its CRD is not installed (yet)."""
        try:
            listed = self.custom.list_namespaced_custom_object(LONGHORN_GROUP, LONGHORN_VERSION, namespace, plural)
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return listed.get("items", [])

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
        attributes = pv.spec.csi.volume_attributes or {}
        try:  # the class's recurringJobSelector (VolumeManager.Create); the provisioning refused an invalid one
            labels = longhorn_recurring_job_selector(attributes.get("recurringJobSelector") or "null")
        except ValueError:
            labels = {}
        labels = longhorn_volume_recurring_labels(labels)
        labels["longhornvolume"] = name
        body = {"apiVersion": "%s/%s" % (LONGHORN_GROUP, LONGHORN_VERSION), "kind": "Volume",
                "metadata": {"name": name, "namespace": namespace, "finalizers": [LONGHORN_FINALIZER],
                             "labels": labels,
                             "annotations": {STANDIN_ANNOTATION: "provisioner",
                                             "kaapana.lab/replica": "%s:%s" % (node, replica)}},
                "spec": {"size": (pv.spec.capacity or {}).get("storage", "1Gi"), "frontend": "blockdev",
                         "numberOfReplicas": int(attributes.get("numberOfReplicas", "1")),
                         "backupTargetName": attributes.get("backupTargetName") or LONGHORN_BACKUP_TARGET,
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

    def label_longhorn_volume(self, namespace, item, pvcs=None):
        """The volume controller's updateRecurringJobs: recurring job labels from a source-labelled PVC, else the
        default group for a volume without any."""
        kube = (item.get("status") or {}).get("kubernetesStatus") or {}
        pvc_labels = None
        if kube.get("pvcName") and not kube.get("lastPVCRefAt"):
            key = (kube.get("namespace") or "", kube["pvcName"])
            if pvcs is not None:
                claim = pvcs.get(key)
            else:
                try:
                    claim = self.core.read_namespaced_persistent_volume_claim(key[1], key[0])
                except ApiException as error:
                    if error.status != 404:
                        raise
                    claim = None
            pvc_labels = dict(claim.metadata.labels or {}) if claim is not None else None
        labels = item["metadata"].get("labels") or {}
        wanted = longhorn_volume_recurring_labels(labels, pvc_labels)
        if wanted == labels:
            return False
        patch = {key: wanted.get(key) for key in set(labels) | set(wanted) if labels.get(key) != wanted.get(key)}
        self.custom.patch_namespaced_custom_object(LONGHORN_GROUP, LONGHORN_VERSION, namespace, "volumes",
                                                   item["metadata"]["name"], {"metadata": {"labels": patch}})
        LOG.info("Longhorn volume %s/%s: recurring job labels %s", namespace, item["metadata"]["name"],
                 ", ".join("%s=%s" % (key, value) if value is not None else "-" + key
                           for key, value in sorted(patch.items())))
        return True

    # -- longhorn-manager's default backup target ------------------------------------------------------------------
    def longhorn_backup_targets(self, pods=None):
        """BackupTarget "default" from ConfigMap longhorn-default-resource, as longhorn-manager makes it: when a
        manager pod starts (a pod whose sync fails crash-loops, as the real manager exits) and whenever the ConfigMap
        changes; then the status of every BackupTarget. While the uninstall Job exists: the uninstaller's deletion of
        the BackupTargets and RecurringJobs. ``pods``: longhorn_manager_pods() when the caller has listed them."""
        pods = self.longhorn_manager_pods() if pods is None else pods
        state = self._longhorn()
        by_namespace = {}
        for pod in pods:
            if pod.spec.node_name and not pod.metadata.deletion_timestamp:
                by_namespace.setdefault(pod.metadata.namespace, []).append(pod)
        for namespace in list(state.started):
            if namespace not in by_namespace:  # Longhorn gone: a new installation starts afresh
                for memory in (state.started, state.crashing, state.configmaps):
                    memory.pop(namespace, None)
                state.seen.discard(namespace)
        for namespace, members in sorted(by_namespace.items()):
            listed = self.longhorn_objects(namespace, "backuptargets")
            if listed is None:
                continue  # the backuptargets.longhorn.io CRD is not installed (yet)
            targets = {item["metadata"]["name"]: item for item in listed}
            if self.longhorn_uninstalling(namespace):
                self.uninstall_longhorn_backups(namespace, targets)
                continue
            if self.start_longhorn_managers(namespace, members, targets):
                listed = self.longhorn_objects(namespace, "backuptargets")
                targets = {item["metadata"]["name"]: item for item in listed}
            owner = sorted(pod.spec.node_name for pod in members)[0]
            for name, item in sorted(targets.items()):
                try:
                    self.reconcile_longhorn_backup_target(namespace, item, owner, longhorn_engine_image(members))
                except ApiException as error:
                    LOG.warning("BackupTarget %s/%s: %s %s", namespace, name, error.status, error.reason)

    def start_longhorn_managers(self, namespace, pods, targets):
        """The default backup target sync of the managers that started since the last pass and of those
        crash-looping (retried each pass, as the kubelet restarts them), or after a change of the ConfigMap.
        Returns whether a BackupTarget was written."""
        state = self._longhorn()
        present = {pod.metadata.uid: pod for pod in pods}
        started = state.started.setdefault(namespace, set())
        started &= set(present)
        crashing = state.crashing.setdefault(namespace, {})
        for uid in set(crashing) - set(present):
            del crashing[uid]
        running = {uid for uid, pod in present.items() if longhorn_manager_running(pod)}
        configmap = self.read_longhorn_default_resource(namespace)
        version = (configmap.metadata.uid, configmap.metadata.resource_version) if configmap is not None else None
        if namespace not in state.seen:
            # first look (the stand-in started): pods it made crash-loop before are retried; with BackupTarget
            # "default" in place the running managers did their startup sync already
            state.seen.add(namespace)
            crashing.update({uid: pod.metadata.name for uid, pod in present.items()
                             if (pod.metadata.annotations or {}).get(LONGHORN_CRASHLOOP_ANNOTATION)})
            if LONGHORN_BACKUP_TARGET in targets:
                started |= running - set(crashing)
                state.configmaps[namespace] = version
        new = running - started - set(crashing)
        # the ConfigMap controller runs in the running managers (its informer's first list counts as a change)
        changed = version is not None and version != state.configmaps.get(namespace) and bool(started or new)
        if not (new or crashing or changed):
            return False
        try:
            wrote = self.sync_longhorn_default_backup_target(namespace, configmap, targets)
            error = None
        except (ValueError, LonghornAdmissionError) as failure:
            wrote, error = False, str(failure)
        state.configmaps[namespace] = version
        if error is None:
            started |= new
            for uid in sorted(crashing):
                self.recover_longhorn_manager(present[uid])
                started.add(uid)
            crashing.clear()
            return wrote
        if changed and not new and not crashing:
            # the ConfigMap controller of the running managers: logged, retried a few times, dropped
            LOG.warning("ConfigMap %s/%s: failed to create or update default backup target with customized values: %s",
                        namespace, LONGHORN_DEFAULT_RESOURCE, error)
        for uid in sorted(new):
            self.crash_longhorn_manager(present[uid], error)
            crashing[uid] = present[uid].metadata.name
        return False

    def read_longhorn_default_resource(self, namespace):
        try:
            return self.core.read_namespaced_config_map(LONGHORN_DEFAULT_RESOURCE, namespace)
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    def read_longhorn_secret(self, namespace, name):
        """The data of a Secret in the Longhorn namespace, or None when there is none (never logged)."""
        if not name:
            return None
        try:
            secret = self.core.read_namespaced_secret(name, namespace)
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return dict(secret.data or {})

    def sync_longhorn_default_backup_target(self, namespace, configmap, targets):
        """CreateOrUpdateDefaultBackupTarget. Raises ValueError (no ConfigMap, YAML or poll interval refused) or
        LonghornAdmissionError (what the admission webhook refuses); returns whether it wrote the BackupTarget."""
        if configmap is None:
            raise ValueError('configmap "%s" not found' % LONGHORN_DEFAULT_RESOURCE)
        params = longhorn_default_resource((configmap.data or {}).get(LONGHORN_DEFAULT_RESOURCE_KEY, ""))
        existing = targets.get(LONGHORN_BACKUP_TARGET)
        old_spec = (existing.get("spec") or {}) if existing is not None else None
        spec = longhorn_backup_target_spec(params, old_spec)
        if spec is None:
            return False
        others = [(name, (item.get("spec") or {}).get("backupTargetURL") or "") for name, item in targets.items()]
        denied = longhorn_backup_target_admission(
            LONGHORN_BACKUP_TARGET, spec, old_spec, self.read_longhorn_secret(namespace, spec["credentialSecret"]),
            others)
        if denied:
            raise LonghornAdmissionError('admission webhook "validator.longhorn.io" denied the request: %s' % denied)
        try:
            if existing is None:
                self.custom.create_namespaced_custom_object(LONGHORN_GROUP, LONGHORN_VERSION, namespace, "backuptargets", {
                    "apiVersion": "%s/%s" % (LONGHORN_GROUP, LONGHORN_VERSION), "kind": "BackupTarget",
                    "metadata": {"name": LONGHORN_BACKUP_TARGET, "namespace": namespace,
                                 "finalizers": [LONGHORN_FINALIZER],
                                 "annotations": {STANDIN_ANNOTATION: "provisioner"}},
                    "spec": spec})
            else:
                self.custom.patch_namespaced_custom_object(LONGHORN_GROUP, LONGHORN_VERSION, namespace, "backuptargets",
                                                           LONGHORN_BACKUP_TARGET, {"spec": spec})
        except ApiException as error:
            if error.status == 409:
                return False
            if error.status in (400, 403, 422):  # refused at admission (the chart's policies) or by the schema
                raise LonghornAdmissionError(_api_message(error)) from None
            raise
        LOG.info("%s BackupTarget %s/%s from ConfigMap %s: URL %r, credential secret %r, poll interval %s",
                 "created" if existing is None else "updated", namespace, LONGHORN_BACKUP_TARGET,
                 LONGHORN_DEFAULT_RESOURCE, spec["backupTargetURL"], spec["credentialSecret"], spec["pollInterval"])
        return True

    def reconcile_longhorn_backup_target(self, namespace, item, owner, engine_image=LONGHORN_ENGINE_IMAGE):
        """The backup target controller: the mutating webhook's finalizer, the finalizer's removal once deleted, and
        the status (available, Unavailable condition)."""
        meta, spec = item["metadata"], item.get("spec") or {}
        name, finalizers = meta["name"], meta.get("finalizers") or []
        if meta.get("deletionTimestamp"):
            if LONGHORN_FINALIZER in finalizers:
                self.custom.patch_namespaced_custom_object(
                    LONGHORN_GROUP, LONGHORN_VERSION, namespace, "backuptargets", name,
                    {"metadata": {"finalizers": [f for f in finalizers if f != LONGHORN_FINALIZER]}})
                LOG.info("deleted BackupTarget %s/%s", namespace, name)
            self._longhorn().availability.pop((namespace, name), None)
            return
        if LONGHORN_FINALIZER not in finalizers:
            self.custom.patch_namespaced_custom_object(LONGHORN_GROUP, LONGHORN_VERSION, namespace, "backuptargets",
                                                       name, {"metadata": {"finalizers": finalizers + [LONGHORN_FINALIZER]}})
        secret = None
        if go_url_scheme(spec.get("backupTargetURL") or "") in LONGHORN_CREDENTIAL_SCHEMES:
            secret = self.read_longhorn_secret(namespace, spec.get("credentialSecret") or "")
        available, message = longhorn_backup_target_availability(name, spec, secret, engine_image)
        status = longhorn_backup_target_status(item.get("status"), available, message, owner, spec,
                                               _now().strftime("%Y-%m-%dT%H:%M:%SZ"))
        if status is not None:
            self.custom.patch_namespaced_custom_object_status(LONGHORN_GROUP, LONGHORN_VERSION, namespace,
                                                              "backuptargets", name, {"status": status})
        memory = self._longhorn().availability
        if memory.get((namespace, name)) != (available, message):
            memory[(namespace, name)] = (available, message)
            if available:
                LOG.info("BackupTarget %s/%s available%s", namespace, name,
                         " (nfs: not mounted in the lab; a well-formed nfs:// URL counts as reachable)"
                         if go_url_scheme(spec.get("backupTargetURL") or "") == "nfs" else
                         " (not contacted in the lab: URL and credential Secret are in order)")
            else:
                LOG.warning("BackupTarget %s/%s unavailable: %s", namespace, name, message)

    def crash_longhorn_manager(self, pod, error):
        """longhorn-manager exits ("Error starting manager: ...") when its startup sync of the default backup target
        fails, and the kubelet restarts it with back-off: the pod runs, not Ready, CrashLoopBackOff."""
        namespace, name = pod.metadata.namespace, pod.metadata.name
        LOG.warning("longhorn-manager %s/%s: Error starting manager: %s (the pod crash-loops until the sync succeeds)",
                    namespace, name, error)
        self.core.patch_namespaced_pod(name, namespace, {"metadata": {"annotations": {
            LONGHORN_CRASHLOOP_ANNOTATION: "default backup target"}}})
        stamp = _now().strftime("%Y-%m-%dT%H:%M:%SZ")
        names = [c.name for c in pod.spec.containers]
        restarts = {cs.name: cs.restart_count or 0 for cs in (pod.status.container_statuses or [])} if pod.status else {}
        message = "containers with unready status: [%s]" % " ".join(names)
        self.core.patch_namespaced_pod_status(name, namespace, {"status": {
            "phase": "Running",
            "conditions": [{"type": kind, "status": "False", "reason": "ContainersNotReady", "message": message,
                            "lastTransitionTime": stamp} for kind in ("Ready", "ContainersReady")],
            "containerStatuses": [{
                "name": c.name, "image": c.image, "ready": False, "started": False,
                "restartCount": restarts.get(c.name, 0) + 1,
                "state": {"waiting": {
                    "reason": "CrashLoopBackOff", "message": "back-off 10s restarting failed container=%s pod=%s_%s(%s)"
                    % (c.name, name, namespace, pod.metadata.uid)}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": stamp,
                                             "finishedAt": stamp}}} for c in pod.spec.containers]}})

    def recover_longhorn_manager(self, pod):
        """The restarted manager's sync succeeded: it runs and turns Ready (restart count and last state kept)."""
        namespace, name = pod.metadata.namespace, pod.metadata.name
        stamp = _now().strftime("%Y-%m-%dT%H:%M:%SZ")
        restarts = {cs.name: cs.restart_count or 0 for cs in (pod.status.container_statuses or [])} if pod.status else {}
        self.core.patch_namespaced_pod_status(name, namespace, {"status": {
            "phase": "Running",
            "conditions": [{"type": kind, "status": "True", "reason": None, "message": None,
                            "lastTransitionTime": stamp} for kind in ("Ready", "ContainersReady")],
            # containerStatuses has no merge key: the list is replaced, so every field is given
            "containerStatuses": [{"name": c.name, "image": c.image, "ready": True, "started": True,
                                   "restartCount": max(restarts.get(c.name, 0), 1),
                                   "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": stamp,
                                                                "finishedAt": stamp}},
                                   "state": {"running": {"startedAt": stamp}}}
                                  for c in pod.spec.containers]}})
        self.core.patch_namespaced_pod(name, namespace, {"metadata": {"annotations": {
            LONGHORN_CRASHLOOP_ANNOTATION: None}}})
        LOG.info("longhorn-manager %s/%s started: the default backup target is in sync", namespace, name)

    def uninstall_longhorn_backups(self, namespace, targets):
        """The uninstaller (UninstallController.deleteCRs): each BackupTarget loses its URL (so nothing on the backup
        store is deleted), is marked longhorn.io/delete-backup-target-from-longhorn (which lets the webhook pass the
        deletion of "default") and deleted; then every RecurringJob is deleted."""
        for name, item in sorted(targets.items()):
            meta = item["metadata"]
            if meta.get("deletionTimestamp"):
                self.reconcile_longhorn_backup_target(namespace, item, "")
                continue
            self.custom.patch_namespaced_custom_object(LONGHORN_GROUP, LONGHORN_VERSION, namespace, "backuptargets", name, {
                "metadata": {"annotations": {LONGHORN_DELETE_BACKUP_TARGET: ""},
                             "finalizers": [f for f in meta.get("finalizers") or [] if f != LONGHORN_FINALIZER]},
                "spec": {"backupTargetURL": ""}})
            try:
                self.custom.delete_namespaced_custom_object(LONGHORN_GROUP, LONGHORN_VERSION, namespace,
                                                            "backuptargets", name)
            except ApiException as error:
                if error.status != 404:
                    raise
            self._longhorn().availability.pop((namespace, name), None)
            LOG.info("longhorn uninstall: cleared the URL of BackupTarget %s/%s and deleted it", namespace, name)
        jobs = self.longhorn_objects(namespace, "recurringjobs")
        if jobs is None:
            return
        for item in jobs:
            if item["metadata"].get("deletionTimestamp"):
                continue
            try:
                self.custom.delete_namespaced_custom_object(LONGHORN_GROUP, LONGHORN_VERSION, namespace,
                                                            "recurringjobs", item["metadata"]["name"])
            except ApiException as error:
                if error.status != 404:
                    raise
            LOG.info("longhorn uninstall: deleted RecurringJob %s/%s", namespace, item["metadata"]["name"])

    # -- recurring jobs ----------------------------------------------------------------------------------------------
    def longhorn_recurring_jobs(self, managers=None):
        """What the admission webhook's mutator does to a RecurringJob (made right after it was written, not at
        admission) and the recurring job controller's status.ownerID."""
        managers = self.longhorn_managers() if managers is None else managers
        for namespace, nodes in sorted(managers.items()):
            listed = self.longhorn_objects(namespace, "recurringjobs")
            if listed is None:
                continue  # the recurringjobs.longhorn.io CRD is not installed (yet)
            items = [item for item in listed if not item["metadata"].get("deletionTimestamp")]
            if not items or self.longhorn_uninstalling(namespace):
                continue
            for item in items:
                name = item["metadata"]["name"]
                try:
                    patch = longhorn_recurring_job_defaults(item)
                    if patch:
                        self.custom.patch_namespaced_custom_object(LONGHORN_GROUP, LONGHORN_VERSION, namespace,
                                                                   "recurringjobs", name, patch)
                        LOG.info("RecurringJob %s/%s: webhook defaults %s", namespace, name,
                                 json.dumps(patch["spec"], sort_keys=True))
                    status = item.get("status") or {}
                    if status.get("ownerID") != nodes[0]:
                        self.custom.patch_namespaced_custom_object_status(
                            LONGHORN_GROUP, LONGHORN_VERSION, namespace, "recurringjobs", name,
                            {"status": {"ownerID": nodes[0], "executionCount": status.get("executionCount") or 0}})
                except ApiException as error:
                    # e.g. a job the chart's policies refuse now (made while they were off): said once per version
                    key = (namespace, name, item["metadata"].get("resourceVersion"))
                    if key not in self._longhorn().warned:
                        self._longhorn().warned.add(key)
                        LOG.warning("RecurringJob %s/%s: %s %s", namespace, name, error.status, _api_message(error))

    def longhorn_setting(self, namespace, name):
        try:
            setting = self.custom.get_namespaced_custom_object(LONGHORN_GROUP, LONGHORN_VERSION, namespace,
                                                               "settings", name)
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return setting.get("value")

    def event(self, pvc, reason, message, source, kind="Normal"):
        stamp = _now()
        body = client.CoreV1Event(
            metadata=client.V1ObjectMeta(generate_name="%s." % pvc.metadata.name, namespace=pvc.metadata.namespace),
            involved_object=client.V1ObjectReference(kind="PersistentVolumeClaim", namespace=pvc.metadata.namespace,
                                                     name=pvc.metadata.name, uid=pvc.metadata.uid, api_version="v1",
                                                     resource_version=pvc.metadata.resource_version),
            reason=reason, message=message, type=kind, count=1, first_timestamp=stamp, last_timestamp=stamp,
            source=client.V1EventSource(component="%s_kaapana-lab-standin" % source))
        try:
            self.core.create_namespaced_event(pvc.metadata.namespace, body)
        except ApiException:
            pass

    # -- loop -----------------------------------------------------------------------------------
    def run(self, stop):
        LOG.info("kaapana lab stand-in provisioner for %s (and longhorn-manager's nodes, volumes, backup target and "
                 "recurring jobs) started", ", ".join(PROVISIONERS))
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
                              node_exec=podman_node_exec(args.containers_conf, LOG) if args.containers_conf else None)
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
