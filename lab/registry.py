"""The lab's OCI registry: Debian's docker-registry 2.8.2 (unpacked from the .deb into the
cache, so the package's own service never starts), with its own config and an htpasswd user."""
import concurrent.futures
import glob
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request

from lab.config import REGISTRY_DEB_VERSION, ROOT


def binary(cfg):
    return os.path.join(cfg.cache, "docker-registry-" + REGISTRY_DEB_VERSION, "usr", "bin", "docker-registry")


def ensure_binary(cfg):
    path = binary(cfg)
    if os.path.exists(path):
        return path
    dest = os.path.dirname(os.path.dirname(os.path.dirname(path)))
    work = os.path.join(cfg.cache, "deb")
    os.makedirs(work, exist_ok=True)
    debs = glob.glob(os.path.join(work, "docker-registry_*.deb"))
    if not debs:
        try:
            subprocess.run(["apt-get", "download", "docker-registry=" + REGISTRY_DEB_VERSION], cwd=work, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except subprocess.CalledProcessError:
            subprocess.run(["apt-get", "update", "-qq"], check=True)
            subprocess.run(["apt-get", "download", "docker-registry=" + REGISTRY_DEB_VERSION], cwd=work, check=True,
                           stdout=subprocess.DEVNULL)
        debs = glob.glob(os.path.join(work, "docker-registry_*.deb"))
    subprocess.run(["dpkg-deb", "-x", debs[0], dest], check=True)
    return path


def _write_private(path, text):
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def configure(cfg):
    """Config, storage and htpasswd under the lab state; the password is made once per lab."""
    import bcrypt

    base = cfg.path("registry")
    os.makedirs(os.path.join(base, "storage"), exist_ok=True)
    if not os.path.exists(cfg.registry_password_file):
        _write_private(cfg.registry_password_file, secrets.token_urlsafe(18) + "\n")
    password = cfg.registry_password().encode()
    # The registry checks the bcrypt hash on every request (a chart push makes about ten): at cost 10 that is
    # ~85 ms of CPU each, most of `lab up`'s push time. The password is 18 random bytes on a local bridge, so the
    # hash's work factor adds no protection: cost 5 (~3 ms).
    hashed = bcrypt.hashpw(password, bcrypt.gensalt(rounds=5)).decode()
    pull_file = cfg.path("registry", "pull-password")
    if not os.path.exists(pull_file):
        _write_private(pull_file, secrets.token_urlsafe(18) + "\n")
    with open(pull_file) as handle:
        pull_hashed = bcrypt.hashpw(handle.read().strip().encode(), bcrypt.gensalt(rounds=5)).decode()
    _write_private(os.path.join(base, "htpasswd"), "%s:%s\n%s:%s\n"
                   % (cfg.registry_user, hashed, cfg.registry_pull_user, pull_hashed))
    _write_private(os.path.join(base, "config.yml"), "\n".join([
        "version: 0.1",
        "log: {level: warn}",
        "storage:",
        "  filesystem: {rootdirectory: %s}" % os.path.join(base, "storage"),
        "  delete: {enabled: true}",
        "http:",
        "  addr: %s" % cfg.registry,
        "  secret: %s" % secrets.token_hex(16),
        "auth:",
        "  htpasswd: {realm: kaapana-lab, path: %s}" % os.path.join(base, "htpasswd"),
        "",
    ]))
    return os.path.join(base, "config.yml")


def argv(cfg):
    return [binary(cfg), "serve", cfg.path("registry", "config.yml")]


def healthy(cfg):
    """The registry answers /v2/ with 401 (auth enforced) when it is up."""
    if not cfg.gateway_is_local():
        return False
    try:
        urllib.request.urlopen("http://%s/v2/" % cfg.registry, timeout=2)
        return False  # 200 without credentials would mean auth is off
    except urllib.error.HTTPError as err:
        return err.code == 401
    except Exception:  # noqa: BLE001
        return False


def helm_env(cfg):
    """Environment for the lab's own helm calls: a private registry config, not the user's."""
    env = dict(os.environ)
    env["HELM_REGISTRY_CONFIG"] = cfg.path("helm", "registry.json")
    env["HELM_CACHE_HOME"] = cfg.path("helm", "cache")
    env["HELM_CONFIG_HOME"] = cfg.path("helm", "config")
    env["HELM_DATA_HOME"] = cfg.path("helm", "data")
    env["KUBECONFIG"] = cfg.kubeconfig
    return env


CHARTS_DIR = os.path.join(ROOT, "lab", "charts")
LIBRARY = "kaapana-library-chart"
ADMIN = "kaapana-admin-chart"
STORAGE = "kaapana-storage-chart"
MIGRATION = "migration-chart"
PHASE2 = ("kaapana-platform-chart", "code-server-chart", "kaapana-workflows-core")
# The source folders hold the 0.6.0-lab shape; every shape is made from them at package time.
SOURCE_VERSION = "0.6.0-lab"
# Shapes of the Kaapana fixture charts: version -> appVersion and whether the admin chart carries
# charts/kaapana-storage-chart (Kaapana 0.6.1 moved the storage classes there). 0.5.3-lab is the 0.6.0-lab
# shape stamped 0.5.3: it only gives upgrade tests a minor-version jump (0.5 -> 0.6, the jump that makes Kaapana
# run its migration chart); it models none of Kaapana 0.5.3's other differences.
SHAPES = {"0.5.3-lab": {"app_version": "0.5.3", "storage_chart": False},
          "0.6.0-lab": {"app_version": "0.6.0", "storage_chart": False},
          "0.6.1-lab": {"app_version": "0.6.1", "storage_chart": True}}
STORAGE_DEPENDENCY = """  # Kaapana 0.6.1: the storage classes; kaapanactl.sh installs this subchart on its own first
  # (release kaapana-storageclass), so it stays disabled inside the admin release.
  - name: kaapana-storage-chart
    version: %s
    condition: kaapana-storage-chart.enabled
"""

# Every shape: Kaapana 0.6.x's admin chart lists utils/migration-chart as a disabled dependency; kaapanactl.sh
# installs it on its own (release kaapana-migration) from <admin chart>/charts/migration-chart when major.minor change.
MIGRATION_DEPENDENCY = """  # Kaapana 0.6.x: the migration chart; kaapanactl.sh installs this subchart on its own
  # (release kaapana-migration) when an upgrade changes major.minor: disabled inside the admin release.
  - name: migration-chart
    version: "0.0.0"
    condition: migration-chart.enabled
"""
MIGRATION_VALUES = """
# Kaapana 0.6.x: installed on its own (kaapana-migration), never as part of this release.
migration-chart:
  enabled: false
"""


def _rewrite(path, func):
    with open(path) as handle:
        text = handle.read()
    new = func(text)
    with open(path, "w") as handle:
        handle.write(new)


def _stamp(folder, version, app_version):
    """Kaapana's build stamps the build version into Chart.yaml and values.yaml; so does this."""
    def chart_yaml(text):
        text = text.replace(SOURCE_VERSION, version)
        return re.sub(r'(?m)^appVersion: "0\.6\.0"$', 'appVersion: "%s"' % app_version, text)
    _rewrite(os.path.join(folder, "Chart.yaml"), chart_yaml)
    if os.path.exists(os.path.join(folder, "values.yaml")):
        _rewrite(os.path.join(folder, "values.yaml"), lambda text: text.replace(SOURCE_VERSION, version))


def _copy(name, dest):
    shutil.copytree(os.path.join(CHARTS_DIR, name), dest, ignore=shutil.ignore_patterns("charts", "*.tgz"))


def stage_shape(version, dest):
    """The Kaapana fixture charts of one shape (library, admin chart, the three phase-2 charts), ready to
    package, under dest/<chart name>. Returns {chart name: folder}."""
    shape = SHAPES[version]
    out = {}
    for name in (LIBRARY, ADMIN) + PHASE2:
        folder = os.path.join(dest, name)
        _copy(name, folder)
        _stamp(folder, version, shape["app_version"])
        if name != LIBRARY:
            shutil.copytree(out[LIBRARY], os.path.join(folder, "charts", LIBRARY))
        out[name] = folder
    admin = out[ADMIN]
    _copy(MIGRATION, os.path.join(admin, "charts", MIGRATION))
    _rewrite(os.path.join(admin, "Chart.yaml"), lambda text: text.rstrip("\n") + "\n" + MIGRATION_DEPENDENCY)
    _rewrite(os.path.join(admin, "values.yaml"), lambda text: text.rstrip("\n") + "\n" + MIGRATION_VALUES)
    if shape["storage_chart"]:
        admin = out[ADMIN]
        sub = os.path.join(admin, "charts", STORAGE)
        _copy(STORAGE, sub)
        _rewrite(os.path.join(sub, "Chart.yaml"),
                 lambda text: re.sub(r'(?m)^version: .*$', 'version: "%s"' % version, text))
        _rewrite(os.path.join(admin, "Chart.yaml"), lambda text: text.rstrip("\n") + "\n" + STORAGE_DEPENDENCY % version)

        def values(text):
            text, count = re.subn(r"(?m)^  createStorageClasses: true$", "  createStorageClasses: false", text)
            assert count == 1, "lab.createStorageClasses not found in %s/values.yaml" % ADMIN
            return text.rstrip("\n") + "\n\n# Kaapana 0.6.1: installed on its own (kaapana-storageclass), never as part of " \
                "this release.\nkaapana-storage-chart:\n  enabled: false\n"
        _rewrite(os.path.join(admin, "values.yaml"), values)
    return out


def stage_charts(dest):
    """Every chart `lab up` publishes, assembled under dest: both shapes of the Kaapana fixture charts
    (dest/<version>/<name>) and every other folder of lab/charts as it is (dest/other/<name>).
    Returns a list of (name, version, folder)."""
    staged = []
    for version in SHAPES:
        for name, folder in stage_shape(version, os.path.join(dest, version)).items():
            staged.append((name, version, folder))
    kaapana = {LIBRARY, ADMIN} | set(PHASE2)
    for name in sorted(os.listdir(CHARTS_DIR)):
        if name in kaapana or not os.path.exists(os.path.join(CHARTS_DIR, name, "Chart.yaml")):
            continue
        folder = os.path.join(dest, "other", name)
        _copy(name, folder)
        with open(os.path.join(folder, "Chart.yaml")) as handle:
            version = re.search(r'(?m)^version: "?([^"\s]+)"?', handle.read()).group(1)
        staged.append((name, version, folder))
    return staged


def _tree_digest(folder):
    digest = hashlib.sha256()
    for base, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(base, name)
            digest.update(os.path.relpath(path, folder).encode() + b"\0")
            with open(path, "rb") as handle:
                digest.update(handle.read() + b"\0")
    return digest.hexdigest()


def push_charts(cfg):
    """Package every staged chart (stage_charts) and push it to oci://<registry>/charts. A chart whose
    staged content is unchanged since this lab pushed it (digest in .lab/helm/pushed.json) is skipped.
    Returns the names of the .tgz files in .lab/charts (the node containers get them)."""
    helm = cfg.bin("helm")
    env = helm_env(cfg)
    out = cfg.path("charts")
    os.makedirs(out, exist_ok=True)
    record = cfg.path("helm", "pushed.json")
    try:
        with open(record) as handle:
            pushed = json.load(handle)
    except (OSError, ValueError):
        pushed = {}
    names, todo = [], []
    with tempfile.TemporaryDirectory(prefix="lab-charts-") as work:
        for name, version, folder in stage_charts(work):
            tgz = os.path.join(out, "%s-%s.tgz" % (name, version))
            digest = _tree_digest(folder)
            names.append(os.path.basename(tgz))
            if pushed.get(os.path.basename(tgz)) == digest and os.path.exists(tgz):
                continue
            res = subprocess.run([helm, "package", folder, "-d", out], env=env, check=True, capture_output=True,
                                 text=True)
            made = res.stdout.strip().rsplit(": ", 1)[-1]
            assert os.path.abspath(made) == os.path.abspath(tgz), (made, tgz)
            todo.append((tgz, digest))
    if todo:
        subprocess.run([helm, "registry", "login", cfg.registry, "--username", cfg.registry_user,
                        "--password-stdin", "--plain-http"], input=cfg.registry_password(), text=True,
                       env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        def push(tgz):
            subprocess.run([helm, "push", tgz, "oci://%s/charts" % cfg.registry, "--plain-http"], env=env,
                           check=True, capture_output=True, text=True)
        # helm push mostly waits on the registry (bcrypt per request): a few at a time
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(push, [tgz for tgz, _digest in todo]))
        for tgz, digest in todo:
            pushed[os.path.basename(tgz)] = digest
        os.makedirs(os.path.dirname(record), exist_ok=True)
        with open(record, "w") as handle:
            json.dump(pushed, handle, indent=1, sort_keys=True)
    return names


# The stand-in of MicroK8s' CNI image (docker.io/calico/cni): what the microk8s stand-in pulls, through the proxy in
# its containerd-env, before its Node may turn Ready.
CNI_IMAGE = ("kaapana-lab/calico-cni", "v3.29.3")


def pull_credentials(cfg):
    with open(cfg.path("registry", "pull-password")) as handle:
        return cfg.registry_pull_user, handle.read().strip()


def push_cni_image(cfg):
    """Push a small real OCI image (config + one gzipped tar layer) as CNI_IMAGE, unless the registry has it."""
    import base64
    import gzip
    import io
    import tarfile

    repo, tag = CNI_IMAGE
    auth = "Basic " + base64.b64encode(("%s:%s" % (cfg.registry_user, cfg.registry_password())).encode()).decode()
    base = "http://%s/v2/%s" % (cfg.registry, repo)
    media = "application/vnd.oci.image.manifest.v1+json"

    def call(method, url, data=None, ctype=None):
        req = urllib.request.Request(url, data=data, method=method, headers={"Authorization": auth})
        if ctype:
            req.add_header("Content-Type", ctype)
        if method in ("HEAD", "GET"):
            req.add_header("Accept", media)
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.headers, resp.read()

    try:
        call("HEAD", "%s/manifests/%s" % (base, tag))
        return False
    except urllib.error.HTTPError as error:
        if error.code != 404:
            raise
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        body = b"#!/bin/sh\n# stand-in of Calico's CNI plugin (kaapana lab)\nexit 0\n"
        info = tarfile.TarInfo("opt/cni/bin/calico")
        info.size, info.mode, info.mtime = len(body), 0o755, 0
        tar.addfile(info, io.BytesIO(body))
    layer = gzip.compress(raw.getvalue(), mtime=0)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers",
                                    "diff_ids": ["sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()]}},
                        sort_keys=True).encode()
    descriptors = []
    for blob, kind in ((config, "application/vnd.oci.image.config.v1+json"),
                       (layer, "application/vnd.oci.image.layer.v1.tar+gzip")):
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        headers, _body = call("POST", "%s/blobs/uploads/" % base, data=b"")
        location = headers["Location"]
        if location.startswith("/"):
            location = "http://%s%s" % (cfg.registry, location)
        call("PUT", location + ("&" if "?" in location else "?") + "digest=" + digest, data=blob,
             ctype="application/octet-stream")
        descriptors.append({"mediaType": kind, "digest": digest, "size": len(blob)})
    manifest = {"schemaVersion": 2, "mediaType": media, "config": descriptors[0], "layers": descriptors[1:]}
    call("PUT", "%s/manifests/%s" % (base, tag), data=json.dumps(manifest).encode(), ctype=media)
    return True
