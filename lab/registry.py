"""The lab's OCI registry: Debian's docker-registry 2.8.2 (unpacked from the .deb into the
cache, so the package's own service never starts), with its own config and an htpasswd user."""
import glob
import os
import secrets
import subprocess
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
    hashed = bcrypt.hashpw(password, bcrypt.gensalt(rounds=10)).decode()
    _write_private(os.path.join(base, "htpasswd"), "%s:%s\n" % (cfg.registry_user, hashed))
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


def push_charts(cfg):
    """Package every chart in lab/charts and push it to oci://<registry>/charts."""
    helm = cfg.bin("helm")
    env = helm_env(cfg)
    out = cfg.path("charts")
    os.makedirs(out, exist_ok=True)
    subprocess.run([helm, "registry", "login", cfg.registry, "--username", cfg.registry_user, "--password-stdin",
                    "--plain-http"], input=cfg.registry_password(), text=True, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    pushed = []
    charts_dir = os.path.join(ROOT, "lab", "charts")
    for name in sorted(os.listdir(charts_dir)) if os.path.isdir(charts_dir) else []:
        if not os.path.exists(os.path.join(charts_dir, name, "Chart.yaml")):
            continue
        res = subprocess.run([helm, "package", os.path.join(charts_dir, name), "-d", out], env=env, check=True,
                             capture_output=True, text=True)
        tgz = res.stdout.strip().rsplit(": ", 1)[-1]
        subprocess.run([helm, "push", tgz, "oci://%s/charts" % cfg.registry, "--plain-http"], env=env, check=True,
                       capture_output=True, text=True)
        pushed.append(os.path.basename(tgz))
    return pushed
