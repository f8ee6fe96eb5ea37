"""kaapana lab STAND-IN for kube-helm's init-extensions Job -- NOT Kaapana's kube-helm.

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

Run: ``.venv/bin/python lab/standins/kube_helm.py --kubeconfig K --helm HELM --registry HOST:PORT
--registry-user U --registry-password-file F --state-dir D``. It exits cleanly (status 0) on SIGTERM or SIGINT.
"""
import argparse
import base64
import datetime
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading

from kubernetes import client, config
from kubernetes.client.rest import ApiException

JOB_NAME = "init-extensions"
VALUES_SECRET_ANNOTATION = "kaapana.lab/values-secret"
RELEASE_LABEL = "kaapana.lab/installed-by=kube-helm-standin"
DEFAULT_DELAY = 3.0
LOG = logging.getLogger("kaapana-lab-kube-helm")


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


class KubeHelm:
    def __init__(self, api_client, kubeconfig, helm, registry, registry_user, password_file, state_dir,
                 delay=DEFAULT_DELAY, interval=1.0, helm_timeout="5m"):
        self.kubeconfig = kubeconfig
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

    def sync(self):
        jobs = self.batch.list_job_for_all_namespaces(field_selector="metadata.name=%s" % JOB_NAME).items
        for job in jobs:
            uid = job.metadata.uid
            if uid in self.handled or job.metadata.deletion_timestamp is not None:
                continue
            age = (_now() - job.metadata.creation_timestamp).total_seconds()
            if age < self.delay:
                if uid not in self.waiting:
                    self.waiting.add(uid)
                    LOG.info("Job %s/%s (uid %s) seen: installing its extensions in %.1fs", job.metadata.namespace,
                             JOB_NAME, uid, self.delay - age)
                continue
            self.waiting.discard(uid)
            self.handle(job)

    def run(self, stop):
        LOG.info("kaapana lab STAND-IN for kube-helm's %s Job started (delay %.1fs, registry %s, helm %s)",
                 JOB_NAME, self.delay, self.registry, self.helm)
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
                                                                      "init-extensions Job")
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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s kaapana-lab-kube-helm %(levelname)s %(message)s")
    api_client = config.new_client_from_config(config_file=args.kubeconfig)
    api_client.user_agent = "kaapana-lab-kube-helm/1"
    standin = KubeHelm(api_client, args.kubeconfig, args.helm, args.registry, args.registry_user, args.registry_password_file,
                       args.state_dir, delay=args.delay, interval=args.interval)
    if args.once:
        standin.sync()
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
