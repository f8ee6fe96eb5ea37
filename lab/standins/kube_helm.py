"""kaapana lab STAND-IN for kube-helm's init-extensions Job and the cert-init/cert-copy Jobs -- NOT Kaapana's.

A host-side process of the test lab. In Kaapana, the admin chart's Job ``init-extensions`` (kube-helm-chart
templates/init_jobs.yaml) runs ``preinstall_extensions.py``: it waits for the preinstall extensions' chart
files (its init container polls every 2 s, then the script up to 10 x 1 s per chart), then installs each
``global.preinstall_extensions`` entry as its own Helm release named after the chart, in
``global.helm_namespace``, with the admin release's global values (``helm get values``, without
``preinstall_extensions`` and ``kaapana_collections``); a release already ``deployed`` is skipped and one stuck
``uninstalling`` is removed with ``--no-hooks`` first. KWOK runs no container, so this process does that part:

* it polls the lab API for Jobs named ``init-extensions`` (every ``--interval`` s);
* ``LAB_KUBE_HELM_DELAY`` seconds (default 3) after a Job's creation it reads the values from the Secret named
  in the Job's annotation ``kaapana.lab/values-secret`` (the admin chart renders it), the extensions from the
  Job's ``PREINSTALL_EXTENSIONS`` env and the namespace from ``HELM_NAMESPACE``, and for each extension runs
  the real Helm: ``helm upgrade --install <name> oci://<registry>/charts/<name> --version <version>
  -n <namespace> -f <values file> --plain-http``. The values file is 0600 in a 0700 folder of the state
  directory and removed afterwards; no value appears in argv or in the log. Helm logs in to the registry with
  a private ``HELM_REGISTRY_CONFIG`` (password on stdin);
* each Job UID is handled once: handled UIDs are recorded in ``<state dir>/handled.json``, so a restarted
  stand-in does not install again; a release already ``deployed`` at the wanted version is skipped as
  kube-helm skips it. If the Job disappears (the admin release is uninstalled) before or while its
  extensions are installed, the rest is abandoned, and a deleted Job never causes an install;
* a failing install is logged and the next extension is installed (Kaapana stops only after a failed
  ``kaapanaplatform`` chart; none of the fixtures has that keyword). The fault value
  ``lab.preinstallFailRelease`` of the admin chart is handled by the fixture charts themselves (a failing
  pre-install hook), so the release ends ``failed`` through Helm.

It also stands in for the cert-init image's ``handle-secret.sh`` (kaapana release/0.6.1
``services/kaapana-admin/admin-init/docker/handle-secret.sh``), which Kaapana runs in the admin chart's Job
``cert-init-<xyz>`` (cert-init-chart, ``ACTION=install``) and the platform chart's Job ``cert-copy-<xyz>``
(cert-copy-chart, ``ACTION=copy``). For each Job whose name starts with ``cert-init-`` or ``cert-copy-``, once
per Job UID (the same ``handled.json``), ``LAB_KUBE_HELM_DELAY`` seconds after its creation and only once the
Job has succeeded (a pod that never ran, e.g. Pending without a storage node or with an injected fault, did
nothing in Kaapana either; a failed Job is recorded and left alone), it acts by the Job's ``ACTION`` env:

* ``install``: if the Secret ``SECRET_NAME`` exists in ``SECRET_NAMESPACE`` (the services namespace), nothing.
  Otherwise a self-signed certificate as the script's ``openssl genrsa 4096`` + ``openssl req -new -x509
  -nodes -sha256 -days EXPIRATION -subj /CN=COMMON_NAME -addext extendedKeyUsage=serverAuth -addext
  subjectAltName=...`` makes it (OpenSSL 3 with its default configuration, as in the Alpine image): RSA 4096
  (about 0.5 s with the ``cryptography`` package here, so the real size is kept), a PKCS#8 key, CN=COMMON_NAME
  as subject and issuer, a random serial, valid from now for EXPIRATION days, the extensions subjectKeyIdentifier,
  authorityKeyIdentifier, basicConstraints CA:TRUE (critical; OpenSSL's ``v3_ca``), extendedKeyUsage serverAuth
  and subjectAltName ``IP:HOSTNAME`` when HOSTNAME matches the script's IPv4 pattern, else ``DNS:HOSTNAME``.
  It becomes a ``kubernetes.io/tls`` Secret (``tls.crt``, ``tls.key``; no labels, no annotations, as ``kubectl
  create secret tls`` makes it) in ``ADMIN_NAMESPACE``, only if none exists there. The real script first
  installs the ``tls.crt``/``tls.key`` an admin left on the tls PV (``/cert/tls``, PVC ``tls-pv-claim``); this
  process runs on the host and does not read the node's files, so it always generates. The script resolves a
  DNS name with ``nslookup`` and exits 1 when that fails; the host cannot tell what the cluster's DNS would
  answer, so only an empty HOSTNAME (which never resolves) fails here.
* ``copy``: nothing when ``SECRET_NAMESPACE`` equals ``ADMIN_NAMESPACE`` or the namespace ``SECRET_NAMESPACE`` does
  not exist. Otherwise it waits for the Secret in ``ADMIN_NAMESPACE`` (the script: 10 tries 5 s apart, then
  ``Failed!``): without blocking, it looks again on later polls and gives up 50 s after its first look. Then,
  only if absent in ``SECRET_NAMESPACE``, it creates the copy as the script's ``kubectl get -ojson | jq 'del(...)'
  | kubectl apply`` does: same type, data, labels and annotations, plus the annotation
  ``kubectl.kubernetes.io/last-applied-configuration`` that ``kubectl apply`` writes (it holds the data, the key
  included, as in Kaapana).

``remove`` (the admin chart's pre-delete hook ``remove-secret-<xyz>``) is not acted on: the script's
``remove_cert`` has its condition inverted and never deletes an existing Secret. A Secret made by a Job belongs to
no Helm release, so ``helm uninstall`` leaves it in both namespaces. Logs name the Secret, the SAN, the validity
and the certificate's SHA-256 fingerprint, never the key.

It also stands in for containerd on the nodes for "host jobs" (``--containers-conf``): a Running pod annotated
``kaapana.lab/host-job: "true"`` on a node, not yet annotated ``kaapana.lab/exit-code``, gets its first container's
command + args run once (per pod UID, in a thread) with ``podman exec`` in the node container of ``spec.nodeName``,
with the container's literal env values and workingDir, under ``timeout -k 10 300``; hostPath volumes are that
node's filesystem, so the paths are the same. The exit code and output tail go to the pod's annotations
``kaapana.lab/exit-code`` and ``kaapana.lab/host-job-output`` (and ``kaapana.lab/host-job-message`` for a failed
container with ``terminationMessagePolicy: FallbackToLogsOnError``); KWOK's lab stages then end the pod Succeeded or
Failed. The log names the command and env, values of password/secret/token names redacted.

Run: ``.venv/bin/python lab/standins/kube_helm.py --kubeconfig K --helm HELM --registry HOST:PORT
--registry-user U --registry-password-file F --state-dir D``. It exits cleanly (status 0) on SIGTERM or SIGINT.
"""
import argparse
import base64
import datetime
import ipaddress
import json
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from kubernetes import client, config
from kubernetes.client.rest import ApiException

try:
    from lab.standins.common import podman_node_exec
except ImportError:  # run as a script: this folder is sys.path[0]
    from common import podman_node_exec

JOB_NAME = "init-extensions"
VALUES_SECRET_ANNOTATION = "kaapana.lab/values-secret"
RELEASE_LABEL = "kaapana.lab/installed-by=kube-helm-standin"
DEFAULT_DELAY = 3.0
LOG = logging.getLogger("kaapana-lab-kube-helm")

# handle-secret.sh (the cert-init image)
CERT_JOB_PREFIXES = ("cert-init-", "cert-copy-")
RSA_BITS = 4096  # openssl genrsa 4096
COPY_TRIES, COPY_INTERVAL = 10, 5.0  # copy_cert: max_retry=10, sleep 5
IPV4_RE = re.compile(r"^([0-9]{1,3}\.){3}[0-9]{1,3}$")  # grep -Eq '^([0-9]{1,3}\.){3}[0-9]{1,3}$'
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# Host jobs: pods whose command the stand-in runs for real in the node container of their node (containerd's part)
HOST_JOB = "kaapana.lab/host-job"                  # "true": run it
EXIT_CODE = "kaapana.lab/exit-code"                # written here; KWOK's lab stages end the pod by it
HOST_JOB_OUTPUT = "kaapana.lab/host-job-output"    # the last OUTPUT_CHARS of stdout and stderr together
HOST_JOB_MESSAGE = "kaapana.lab/host-job-message"  # the termination message (FallbackToLogsOnError only)
HOST_JOB_TIMEOUT = 300
OUTPUT_CHARS = 2000
MESSAGE_CHARS = 2048
SECRET_ENV = re.compile(r"password|secret|token", re.IGNORECASE)


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def preinstall_extensions(text):
    """PREINSTALL_EXTENSIONS as preinstall_extensions.py reads it (Kaapana's template leaves a trailing comma)."""
    return json.loads((text or "[]").replace(",]", "]"))


def job_env(job):
    env = {}
    for container in job.spec.template.spec.containers or []:
        for item in container.env or []:
            if item.value is not None:
                env.setdefault(item.name, item.value)
    return env


def subject_alt_name(hostname):
    """handle-secret.sh's SAN: IP:<HOSTNAME> when it matches the script's IPv4 pattern, else DNS:<HOSTNAME>.
    ValueError for an empty HOSTNAME (the script's nslookup cannot resolve it) or an IPv4-shaped one that is no
    address (openssl rejects it)."""
    if not hostname:
        raise ValueError("HOSTNAME is empty: handle-secret.sh cannot resolve it (nslookup) and exits 1")
    if IPV4_RE.match(hostname):
        try:
            return x509.IPAddress(ipaddress.IPv4Address(hostname))
        except ValueError:
            raise ValueError("HOSTNAME %s is no IPv4 address: openssl rejects subjectAltName IP:%s"
                             % (hostname, hostname))
    return x509.DNSName(hostname)


def self_signed(common_name, hostname, days, bits=None, now=None):
    """(certificate PEM, key PEM) as handle-secret.sh makes them with OpenSSL 3's `genrsa` and `req -new -x509
    -nodes -sha256` (default configuration: the v3_ca extensions) plus its -addext extendedKeyUsage and
    subjectAltName."""
    days = int(days)
    if days <= 0:
        raise ValueError("EXPIRATION %r is no positive number of days" % days)
    san = subject_alt_name(hostname)
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits or RSA_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = (now or _now()).replace(microsecond=0)
    public = key.public_key()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=days))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([san]), critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def host_job_due(pod):
    """A pod the host-job runner should run now: annotated kaapana.lab/host-job "true", Running (KWOK made it so),
    on a node, not being deleted, not run yet (no kaapana.lab/exit-code)."""
    annotations = pod.metadata.annotations or {}
    return (annotations.get(HOST_JOB) == "true" and EXIT_CODE not in annotations
            and (pod.status.phase if pod.status else None) == "Running" and bool(pod.spec.node_name)
            and pod.metadata.deletion_timestamp is None)


def host_job_command(pod):
    """(argv, env, workdir, termination message policy) of the pod's first container, as containerd would start it:
    command + args (argv is empty without a command: the image's entrypoint is not known here), the env entries
    with a literal value (valueFrom is skipped), the container's workingDir."""
    container = pod.spec.containers[0]
    argv = list(container.command or []) + list(container.args or []) if container.command else []
    env = {}
    for item in container.env or []:
        if item.value_from is None:
            env[item.name] = item.value or ""
    return argv, env, container.working_dir, container.termination_message_policy or "File"


def pod_images(pod):
    """The images the kubelet pulls for a pod: its init, app and ephemeral containers' (in that order, once each)."""
    spec = pod.spec
    images = []
    for container in list(spec.init_containers or []) + list(spec.containers or []) + list(
            getattr(spec, "ephemeral_containers", None) or []):
        if container.image and container.image not in images:
            images.append(container.image)
    return images


def pulls_due(pods, seen):
    """{node name: (images, pod UIDs)} for the pods the kubelet has started since the last look: Running or
    Succeeded/Failed (it ran) with spec.nodeName, whose UID is not in seen. The images of every such pod of a node
    together, so that one podman exec per node records them."""
    due = {}
    for pod in pods:
        phase = pod.status.phase if pod.status else None
        if pod.metadata.uid in seen or not pod.spec.node_name or phase not in ("Running", "Succeeded", "Failed"):
            continue
        images, uids = due.setdefault(pod.spec.node_name, ([], []))
        images.extend(i for i in pod_images(pod) if i not in images)
        uids.append(pod.metadata.uid)
    return due


def redacted(env):
    """env for the log: values of names with password/secret/token in them are replaced."""
    return {name: "<redacted>" if SECRET_ENV.search(name) else value for name, value in env.items()}


def host_job_annotations(returncode, output, policy="File"):
    """What the runner writes on the pod: the exit code (a decimal string), the output's tail and, for a failed
    container with terminationMessagePolicy FallbackToLogsOnError, the kubelet's message (the log's tail)."""
    annotations = {EXIT_CODE: str(returncode), HOST_JOB_OUTPUT: (output or "")[-OUTPUT_CHARS:]}
    if returncode != 0 and policy == "FallbackToLogsOnError" and output:
        annotations[HOST_JOB_MESSAGE] = output[-MESSAGE_CHARS:]
    return annotations


def describe_certificate(pem):
    """What the log may say about a certificate: subject, SAN, validity, fingerprint (never the key)."""
    cert = x509.load_pem_x509_certificate(pem)
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        san = ", ".join("%s:%s" % ("IP" if isinstance(n, x509.IPAddress) else "DNS", n.value) for n in sans)
    except x509.ExtensionNotFound:
        san = "-"
    return "%s, subjectAltName %s, valid until %s, RSA %d, SHA-256 fingerprint %s" % (
        cert.subject.rfc4514_string(), san, cert.not_valid_after_utc.isoformat(), cert.public_key().key_size,
        cert.fingerprint(hashes.SHA256()).hex())


def last_applied(obj):
    """The annotation `kubectl apply` writes: the applied object without that annotation, as Go's encoding/json
    marshals it (keys sorted, no spaces, <, > and & escaped), with a trailing newline."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") + "\n"


class KubeHelm:
    def __init__(self, api_client, kubeconfig, helm, registry, registry_user, password_file, state_dir,
                 delay=DEFAULT_DELAY, interval=1.0, helm_timeout="5m", node_exec=None,
                 host_job_timeout=HOST_JOB_TIMEOUT):
        self.kubeconfig = kubeconfig
        # node_exec(node, argv, env=, workdir=, timeout=) runs a command in a node container (None: host jobs wait)
        self.node_exec = node_exec
        self.host_job_timeout = host_job_timeout
        self.host_jobs = set()  # pod UIDs run (or running) by this process: each pod runs once
        self.pulled = set()  # pod UIDs whose images were recorded as pulled on their node (each pod once)
        self.no_container = set()  # nodes without a node container (the KWOK pool): nothing to record there
        self.sandboxed = set()  # Node UIDs whose sandbox image was recorded when first seen
        self.host_job_threads = []
        self.batch = client.BatchV1Api(api_client)
        self.core = client.CoreV1Api(api_client)
        self.helm = helm
        self.registry = registry
        self.registry_user = registry_user
        self.password_file = password_file
        self.state_dir = state_dir
        self.delay = float(delay)
        self.interval = interval
        self.helm_timeout = helm_timeout
        self.logged_in = False
        os.makedirs(os.path.join(state_dir, "values"), mode=0o700, exist_ok=True)
        os.chmod(os.path.join(state_dir, "values"), 0o700)
        self.record = os.path.join(state_dir, "handled.json")
        try:
            with open(self.record) as handle:
                self.handled = json.load(handle)
        except (OSError, ValueError):
            self.handled = {}
        self.waiting = set()
        self.warned = set()
        self.copy_started = {}
        self.pod_waiting = set()

    # -- helm ------------------------------------------------------------------------------------
    def env(self):
        base = os.path.join(self.state_dir, "helm")
        return dict(os.environ, HELM_REGISTRY_CONFIG=os.path.join(base, "registry.json"),
                    HELM_CACHE_HOME=os.path.join(base, "cache"), HELM_CONFIG_HOME=os.path.join(base, "config"),
                    HELM_DATA_HOME=os.path.join(base, "data"), KUBECONFIG=self.kubeconfig)

    def run_helm(self, *args, input_text=None, timeout=600):
        return subprocess.run([self.helm] + list(args), input=input_text, capture_output=True, text=True,
                              env=self.env(), timeout=timeout, check=False)

    def login(self):
        if self.logged_in:
            return True
        with open(self.password_file) as handle:
            password = handle.read().strip()
        res = self.run_helm("registry", "login", self.registry, "--username", self.registry_user,
                            "--password-stdin", "--plain-http", input_text=password)
        if res.returncode != 0:
            LOG.warning("helm registry login %s failed: %s", self.registry, res.stderr.strip()[-300:])
            return False
        self.logged_in = True
        return True

    def release_status(self, name, namespace):
        res = self.run_helm("status", name, "-n", namespace, "-o", "json")
        if res.returncode != 0:
            return None, None
        try:
            data = json.loads(res.stdout)
        except ValueError:
            return None, None
        return data.get("info", {}).get("status"), data.get("chart", {}).get("metadata", {}).get("version")

    def install(self, name, version, namespace, values_file):
        status, installed = self.release_status(name, namespace)
        if status == "deployed" and installed == version:
            LOG.info("release %s/%s is already deployed at %s: skipped (as kube-helm skips it)", namespace, name,
                     version)
            return "skipped"
        if status == "uninstalling":
            LOG.warning("release %s/%s stuck in 'uninstalling': helm uninstall --no-hooks", namespace, name)
            self.run_helm("uninstall", name, "-n", namespace, "--no-hooks")
        argv = ["upgrade", "--install", name, "oci://%s/charts/%s" % (self.registry, name), "--version", version,
                "-n", namespace, "-f", values_file, "--plain-http", "--timeout", self.helm_timeout,
                "--labels", RELEASE_LABEL]
        LOG.info("helm %s", " ".join(argv))
        res = self.run_helm(*argv)
        if res.returncode == 0:
            LOG.info("release %s/%s installed (%s)", namespace, name, version)
            return "installed"
        LOG.error("release %s/%s: helm exited %d: %s", namespace, name, res.returncode,
                  res.stderr.strip()[-600:])
        return "failed"

    # -- jobs ------------------------------------------------------------------------------------
    def job_alive(self, namespace, uid):
        try:
            job = self.batch.read_namespaced_job(JOB_NAME, namespace)
        except ApiException as error:
            if error.status == 404:
                return False
            raise
        return job.metadata.uid == uid and job.metadata.deletion_timestamp is None

    def values_of(self, job):
        secret_name = (job.metadata.annotations or {}).get(VALUES_SECRET_ANNOTATION)
        if not secret_name:
            raise LookupError("Job %s/%s has no annotation %s"
                              % (job.metadata.namespace, JOB_NAME, VALUES_SECRET_ANNOTATION))
        secret = self.core.read_namespaced_secret(secret_name, job.metadata.namespace)
        return base64.b64decode((secret.data or {})["values.yaml"])

    def save(self):
        tmp = self.record + ".tmp"
        with open(tmp, "w") as handle:
            json.dump(self.handled, handle, indent=1, sort_keys=True)
        os.replace(tmp, self.record)

    def handle(self, job):
        namespace, uid = job.metadata.namespace, job.metadata.uid
        env = job_env(job)
        extensions = preinstall_extensions(env.get("PREINSTALL_EXTENSIONS"))
        helm_namespace = env.get("HELM_NAMESPACE") or namespace
        if VALUES_SECRET_ANNOTATION not in (job.metadata.annotations or {}):
            # not the lab's admin chart (e.g. Kaapana's own): nothing to install it with
            LOG.warning("Job %s/%s (uid %s) has no annotation %s: ignored", namespace, JOB_NAME, uid,
                        VALUES_SECRET_ANNOTATION)
            self.handled[uid] = {"job": "%s/%s" % (namespace, JOB_NAME), "at": _now().isoformat(), "results": {},
                                 "ignored": "no %s annotation" % VALUES_SECRET_ANNOTATION}
            self.save()
            return
        try:
            values = self.values_of(job)
        except (ApiException, LookupError, KeyError) as error:
            if uid not in self.warned:
                self.warned.add(uid)
                LOG.warning("Job %s/%s (uid %s): values not readable yet (retrying): %s", namespace, JOB_NAME, uid,
                            getattr(error, "reason", error))
            return
        if not self.login():
            return
        LOG.info("Job %s/%s (uid %s): preinstalling %s into namespace %s", namespace, JOB_NAME, uid,
                 ", ".join("%s %s" % (e["name"], e["version"]) for e in extensions) or "nothing", helm_namespace)
        results = {}
        fd, path = tempfile.mkstemp(prefix="values-", suffix=".yaml", dir=os.path.join(self.state_dir, "values"))
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(values)
            for extension in extensions:
                if not self.job_alive(namespace, uid):
                    LOG.info("Job %s/%s (uid %s) is gone: the remaining extensions are not installed", namespace,
                             JOB_NAME, uid)
                    break
                results[extension["name"]] = self.install(extension["name"], str(extension["version"]),
                                                          helm_namespace, path)
        finally:
            os.unlink(path)
        self.handled[uid] = {"job": "%s/%s" % (namespace, JOB_NAME), "namespace": helm_namespace,
                             "at": _now().isoformat(), "results": results}
        self.save()
        LOG.info("Job %s/%s (uid %s) handled: %s", namespace, JOB_NAME, uid, json.dumps(results, sort_keys=True))

    # -- cert-init / cert-copy (handle-secret.sh) --------------------------------------------------
    def read_secret(self, name, namespace):
        try:
            return self.core.read_namespaced_secret(name, namespace)
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    def namespace_exists(self, name):
        try:
            self.core.read_namespace(name)
        except ApiException as error:
            if error.status == 404:
                return False
            raise
        return True

    def create_secret(self, namespace, body, where):
        try:
            self.core.create_namespaced_secret(namespace, body)
        except ApiException as error:
            if error.status == 409:
                LOG.info("%s: Secret %s/%s appeared meanwhile: left as it is", where, namespace, body.metadata.name)
                return "skipped: present in %s" % namespace
            if error.status == 404:
                LOG.error("%s: cannot create Secret %s/%s: %s", where, namespace, body.metadata.name, error.reason)
                return "failed: namespace %s not found" % namespace
            raise
        return None

    def install_cert(self, env, where):
        """handle-secret.sh install_cert (without the tls PV's files: see the module docstring)."""
        name, target, admin = (env.get(k, "") for k in ("SECRET_NAME", "SECRET_NAMESPACE", "ADMIN_NAMESPACE"))
        if self.read_secret(name, target) is not None:
            LOG.info("%s: Secret %s already exists in namespace %s: nothing created", where, name, target)
            return "skipped: present in %s" % target
        try:
            cert, key = self_signed(env.get("COMMON_NAME", ""), env.get("HOSTNAME", ""), env.get("EXPIRATION", ""))
        except ValueError as error:
            LOG.error("%s: no certificate: %s", where, error)
            return "failed: %s" % error
        if self.read_secret(name, admin) is not None:
            LOG.info("%s: Secret %s already exists in namespace %s: the new certificate is dropped", where, name, admin)
            return "skipped: present in %s" % admin
        data = {"tls.crt": base64.b64encode(cert).decode(), "tls.key": base64.b64encode(key).decode()}
        body = client.V1Secret(api_version="v1", kind="Secret", metadata=client.V1ObjectMeta(name=name),
                               type="kubernetes.io/tls", data=data)
        failed = self.create_secret(admin, body, where)
        if failed:
            return failed
        LOG.info("%s: Secret %s/%s created (kubernetes.io/tls, self-signed: %s)", where, admin, name,
                 describe_certificate(cert))
        return "created in %s" % admin

    def copy_cert(self, uid, env, where):
        """handle-secret.sh copy_cert; None while it is still waiting for the admin namespace's Secret."""
        name, target, admin = (env.get(k, "") for k in ("SECRET_NAME", "SECRET_NAMESPACE", "ADMIN_NAMESPACE"))
        if target == admin:
            LOG.info("%s: SECRET_NAMESPACE == ADMIN_NAMESPACE (%s): nothing to copy", where, admin)
            return "skipped: SECRET_NAMESPACE is ADMIN_NAMESPACE"
        if uid not in self.copy_started:
            if not self.namespace_exists(target):
                LOG.info("%s: namespace %s does not exist: nothing copied", where, target)
                return "skipped: namespace %s absent" % target
            self.copy_started[uid] = _now()
        source = self.read_secret(name, admin)
        if source is None:
            waited = (_now() - self.copy_started[uid]).total_seconds()
            if waited >= COPY_TRIES * COPY_INTERVAL:
                LOG.error("%s: Secret %s not found in namespace %s after %.0fs: Failed! (handle-secret.sh exits 1)",
                          where, name, admin, waited)
                del self.copy_started[uid]
                return "failed: Secret %s not found in %s" % (name, admin)
            if uid not in self.warned:
                self.warned.add(uid)
                LOG.info("%s: Secret %s not found in namespace %s: waiting (at most %.0fs)", where, name, admin,
                         COPY_TRIES * COPY_INTERVAL)
            return None
        del self.copy_started[uid]
        if self.read_secret(name, target) is not None:
            LOG.info("%s: Secret %s already present in namespace %s: nothing copied", where, name, target)
            return "skipped: present in %s" % target
        meta = source.metadata
        annotations = dict(meta.annotations or {})
        annotations.pop(LAST_APPLIED, None)
        applied = {"apiVersion": "v1", "kind": "Secret", "type": source.type, "data": dict(source.data or {}),
                   "metadata": {"name": name, "namespace": target, "annotations": dict(annotations)}}
        if meta.labels:
            applied["metadata"]["labels"] = dict(meta.labels)
        annotations[LAST_APPLIED] = last_applied(applied)
        labels = dict(meta.labels) if meta.labels else None
        body = client.V1Secret(api_version="v1", kind="Secret", type=source.type, data=dict(source.data or {}),
                               metadata=client.V1ObjectMeta(name=name, labels=labels, annotations=annotations))
        failed = self.create_secret(target, body, where)
        if failed:
            return failed
        LOG.info("%s: Secret %s copied from namespace %s to %s", where, name, admin, target)
        return "copied to %s" % target

    def handle_cert_job(self, job):
        """One cert-init/cert-copy Job: acted on (and recorded) once its pod has completed."""
        namespace, name, uid = job.metadata.namespace, job.metadata.name, job.metadata.uid
        where = "Job %s/%s (uid %s)" % (namespace, name, uid)
        env = job_env(job)
        action = env.get("ACTION")
        status = job.status
        if any(c.type == "Failed" and c.status == "True" for c in (getattr(status, "conditions", None) or [])):
            LOG.warning("%s failed: handle-secret.sh did not complete, nothing done", where)
            result = "not run: the Job failed"
        elif not getattr(status, "succeeded", None):
            if uid not in self.pod_waiting:
                self.pod_waiting.add(uid)
                LOG.info("%s: its pod has not completed yet (Pending, pulling or failing): waiting", where)
            return
        elif action == "install":
            result = self.install_cert(env, where)
        elif action == "copy":
            result = self.copy_cert(uid, env, where)
            if result is None:
                return
        else:
            LOG.warning("%s: ACTION %r: ignored", where, action)
            result = "ignored: ACTION %r" % action
        self.pod_waiting.discard(uid)
        self.warned.discard(uid)
        self.handled[uid] = {"job": "%s/%s" % (namespace, name), "action": action, "at": _now().isoformat(),
                             "result": result}
        self.save()

    def due(self, job, what):
        """Whether the delay after the Job's creation has passed (logs the wait once)."""
        uid = job.metadata.uid
        if uid in self.handled or job.metadata.deletion_timestamp is not None:
            return False
        age = (_now() - job.metadata.creation_timestamp).total_seconds()
        if age < self.delay:
            if uid not in self.waiting:
                self.waiting.add(uid)
                LOG.info("Job %s/%s (uid %s) seen: %s in %.1fs", job.metadata.namespace, job.metadata.name, uid,
                         what, self.delay - age)
            return False
        self.waiting.discard(uid)
        return True

    # -- host jobs (containerd's part) -------------------------------------------------------------
    def record_image_pulls(self, pods, nodes=()):
        """STAND-IN of the kubelet's image pulls: each pod started on a node container's node gets its images and
        the sandbox image recorded in that node's containerd store (the microk8s stand-in's hidden
        `ctr images kaapana-lab-pull`, which owns the store's format and keeps refs already there), once per pod
        UID; the images stay after the pod is gone, as in containerd. A Node seen for the first time (by UID: a
        reinstalled node is new) gets the sandbox image alone: on MicroK8s every node runs calico-node's pod, whose
        sandbox pulls it, and the lab runs no CNI pods."""
        if self.node_exec is None:
            return
        due = pulls_due(pods, self.pulled)
        for node in nodes:
            if node.metadata.uid not in self.sandboxed:
                self.sandboxed.add(node.metadata.uid)
                due.setdefault(node.metadata.name, ([], []))
        for node, (images, uids) in sorted(due.items()):
            if node in self.no_container:
                self.pulled.update(uids)
                continue
            proc = self.node_exec(node, ["/snap/bin/microk8s", "ctr", "images", "kaapana-lab-pull", "--sandbox"] + images,
                                  timeout=60)
            if proc.returncode == 125:  # podman: no such container (the KWOK pool's nodes)
                self.no_container.add(node)
            elif proc.returncode != 0:
                # no microk8s on the node (removed under its pods): logged once, not tried every second
                LOG.warning("image pulls on node %s not recorded (exit %d): %s", node, proc.returncode,
                            (proc.stdout or "").strip()[-300:])
            elif proc.stdout.strip():
                LOG.info("kubelet pulls on node %s: %s", node, proc.stdout.strip().replace("\n", " | "))
            self.pulled.update(uids)

    def run_host_jobs(self, pods):
        """Start every due host-job pod's command in its node container, each in its own thread (a long job must
        not hold up the installs); the pod UID is remembered first, so a pod runs once."""
        if self.node_exec is None:
            return
        self.host_job_threads = [t for t in self.host_job_threads if t.is_alive()]
        for pod in pods:
            if pod.metadata.uid in self.host_jobs or not host_job_due(pod):
                continue
            self.host_jobs.add(pod.metadata.uid)
            thread = threading.Thread(target=self.run_host_job, args=(pod,), daemon=True,
                                      name="host-job-" + pod.metadata.name)
            thread.start()
            self.host_job_threads.append(thread)

    def run_host_job(self, pod):
        where = "%s/%s" % (pod.metadata.namespace, pod.metadata.name)
        node = pod.spec.node_name
        argv, env, workdir, policy = host_job_command(pod)
        if not argv:
            returncode = 127
            output = "kaapana lab: the container has no command; the lab cannot run an image's entrypoint\n"
        else:
            LOG.info("host job %s on node %s: %s (env %s%s)", where, node, json.dumps(argv)[:1000],
                     json.dumps(redacted(env), sort_keys=True), ", workdir %s" % workdir if workdir else "")
            # coreutils' timeout inside the container ends the command itself; podman's client gets a margin
            proc = self.node_exec(node, ["timeout", "-k", "10", str(int(self.host_job_timeout))] + argv, env=env,
                                  workdir=workdir, timeout=self.host_job_timeout + 30)
            returncode, output = proc.returncode, proc.stdout or ""
        tail = output[-300:]
        for name, value in env.items():  # a script that echoes a credential: not into the log either
            if value and SECRET_ENV.search(name):
                tail = tail.replace(value, "<redacted>")
        LOG.info("host job %s on node %s: exit code %d, output tail: %s", where, node, returncode,
                 tail.strip().replace("\n", " | "))
        try:
            annotations = host_job_annotations(returncode, output, policy)
            self.core.patch_namespaced_pod(pod.metadata.name, pod.metadata.namespace,
                                           {"metadata": {"annotations": annotations}})
        except ApiException as error:
            LOG.warning("host job %s: cannot record its exit code: %s %s", where, error.status, error.reason)

    def sync(self):
        pods = self.core.list_pod_for_all_namespaces().items if self.node_exec is not None else []
        self.run_host_jobs(pods)
        self.record_image_pulls(pods, self.core.list_node().items if self.node_exec is not None else [])
        jobs = self.batch.list_job_for_all_namespaces().items
        # the certificate first: its Jobs are quick, the installs of init-extensions take a while
        for job in jobs:
            if job.metadata.name.startswith(CERT_JOB_PREFIXES) and self.due(job, "acting as handle-secret.sh"):
                self.handle_cert_job(job)
        for job in jobs:
            if job.metadata.name == JOB_NAME and self.due(job, "installing its extensions"):
                self.handle(job)

    def run(self, stop):
        LOG.info("kaapana lab STAND-IN for kube-helm's %s Job and the cert-init/cert-copy Jobs started (delay %.1fs, "
                 "registry %s, helm %s)", JOB_NAME, self.delay, self.registry, self.helm)
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
    parser = argparse.ArgumentParser(prog="kube_helm.py", description="kaapana lab stand-in for kube-helm's "
                                                                      "init-extensions Job and the cert-init/cert-copy "
                                                                      "Jobs")
    parser.add_argument("--kubeconfig", required=True, help="admin kubeconfig of the lab API")
    parser.add_argument("--helm", required=True, help="the helm binary")
    parser.add_argument("--registry", required=True, help="the lab registry, HOST:PORT (plain HTTP)")
    parser.add_argument("--registry-user", required=True)
    parser.add_argument("--registry-password-file", required=True)
    parser.add_argument("--state-dir", required=True, help="handled Job UIDs, Helm's config and the values files")
    parser.add_argument("--delay", type=float, default=float(os.environ.get("LAB_KUBE_HELM_DELAY", DEFAULT_DELAY)),
                        help="seconds between a Job's creation and the installs (default $LAB_KUBE_HELM_DELAY or 3)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    parser.add_argument("--containers-conf", metavar="PATH",
                        help="podman's containers.conf of the lab: run host-job pods in their node containers")
    parser.add_argument("--host-job-timeout", type=float, default=HOST_JOB_TIMEOUT,
                        help="seconds a host job may run (default %d)" % HOST_JOB_TIMEOUT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s kaapana-lab-kube-helm %(levelname)s %(message)s")
    api_client = config.new_client_from_config(config_file=args.kubeconfig)
    api_client.user_agent = "kaapana-lab-kube-helm/1"
    standin = KubeHelm(api_client, args.kubeconfig, args.helm, args.registry, args.registry_user, args.registry_password_file,
                       args.state_dir, delay=args.delay, interval=args.interval,
                       node_exec=podman_node_exec(args.containers_conf, LOG) if args.containers_conf else None,
                       host_job_timeout=args.host_job_timeout)
    if args.once:
        standin.sync()
        for thread in standin.host_job_threads:
            thread.join()
        return 0
    stop = threading.Event()

    def handle(signum, _frame):
        LOG.info("signal %d: stopping", signum)
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        standin.run(stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
