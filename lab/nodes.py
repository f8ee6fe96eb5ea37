"""Node containers: the Debian 12 image (debootstrap, cached by content hash), the lab
network and its anchor container, and the podman arguments every node container gets."""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile

from lab.config import ROOT

HERE = os.path.join(ROOT, "lab")
IMAGE_DIR = os.path.join(HERE, "node-image")
STANDINS_DIR = os.path.join(HERE, "standins")
# The stand-ins' thin executables (the code is the package lab/standins, copied whole).
STANDIN_EXECUTABLES = ("microk8s", "nvidia-smi", "snap")
ANCHOR = "kaapana-lab-anchor"


def podman(*args, check=True, capture=True, env=None):
    return subprocess.run(["podman"] + list(args), check=check, text=True, env=env,
                          stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE if capture else None)


def podman_env(cfg):
    """Podman with the lab's containers.conf: runc (crun fails on these hosts) and ulimits it accepts."""
    env = dict(os.environ)
    conf = cfg.path("containers.conf")
    if not os.path.exists(conf):
        os.makedirs(cfg.state, exist_ok=True)
        with open(conf, "w") as handle:
            handle.write('[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
                         '[engine]\nruntime = "runc"\n')
    env["CONTAINERS_CONF"] = conf
    return env


def _packages():
    with open(os.path.join(IMAGE_DIR, "packages.txt")) as handle:
        return [line.strip() for line in handle if line.strip() and not line.startswith("#")]


def _digest(paths):
    h = hashlib.sha256()
    for base in paths:
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                full = os.path.join(dirpath, name)
                h.update(os.path.relpath(full, base).encode())
                with open(full, "rb") as handle:
                    h.update(handle.read())
    return h.hexdigest()[:12]


def _rootfs_tag(cfg):
    return "%s-rootfs:bookworm" % cfg.node_image


# Container hygiene for systemd as PID 1: no getty, no udev or kernel-module set-up.
MASKED_UNITS = ["getty.target", "systemd-udevd.service", "systemd-udev-trigger.service",
                "systemd-modules-load.service", "sys-kernel-config.mount", "systemd-remount-fs.service",
                "systemd-firstboot.service", "apt-daily.timer", "apt-daily-upgrade.timer",
                # logind (reachable since openssh-server's libpam-systemd) starts on demand and leaves a fresh
                # /var/tmp/systemd-private-* on every start: noise on nodes whose files the tests watch.
                "systemd-logind.service"]


def _base_containerfile(cfg):
    return "\n".join([
        "FROM " + _rootfs_tag(cfg),
        "ENV DEBIAN_FRONTEND=noninteractive",
        "RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends %s "
        "&& apt-get clean && rm -rf /var/lib/apt/lists/*" % " ".join(_packages()),
        "RUN systemctl mask %s && : > /etc/machine-id" % " ".join(MASKED_UNITS),
        # Every container gets its own SSH host keys at start (init.sh), none baked in.
        "RUN systemctl enable ssh && rm -f /etc/ssh/ssh_host_*",
        # Debian's package enables firewalld; most lab nodes model servers without it
        "RUN systemctl disable firewalld",
        "",
    ])


def _text_digest(*parts):
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


def base_tag(cfg):
    """Keyed by the image folder and the Containerfile, so a changed package list or unit mask rebuilds it."""
    return "%s-base:%s" % (cfg.node_image, _text_digest(_digest([IMAGE_DIR]), _base_containerfile(cfg)))


def image_tag(cfg):
    base = base_tag(cfg)
    key = _text_digest(base, _digest([IMAGE_DIR, STANDINS_DIR]), _image_containerfile(base, "snapd-standin.deb"))
    return "%s:%s" % (cfg.node_image, key)


def _image_containerfile(base, deb):
    executables = " ".join("/usr/lib/kaapana-lab/standins/" + name for name in STANDIN_EXECUTABLES)
    return "\n".join([
        "FROM " + base,
        "COPY standins /usr/lib/kaapana-lab/standins",
        "COPY init.sh /usr/lib/kaapana-lab/init.sh",
        "COPY sshd-lab.conf /etc/ssh/sshd_config.d/kaapana-lab.conf",
        "COPY %s /tmp/%s" % (deb, deb),
        # Byte code compiled at build time: the stand-ins never write __pycache__ into a running node.
        "RUN chmod 0755 /usr/lib/kaapana-lab/init.sh %s "
        "&& python3 -m compileall -q /usr/lib/kaapana-lab/standins "
        "&& dpkg -i /tmp/%s && rm /tmp/%s" % (executables, deb, deb),
        'CMD ["/usr/lib/kaapana-lab/init.sh"]',
        "",
    ])


def image_exists(tag, env):
    return podman("image", "exists", tag, check=False, env=env).returncode == 0


def build_base(cfg, env, log=print):
    """Debian 12 minbase with python3 from debootstrap, then the package list installed with apt
    inside a podman build (debootstrap's resolver cannot satisfy virtual packages)."""
    tag = base_tag(cfg)
    if image_exists(tag, env):
        return tag
    rootfs_tag = _rootfs_tag(cfg)
    if not image_exists(rootfs_tag, env):
        log("building node rootfs %s with debootstrap (once)" % rootfs_tag)
        rootfs = tempfile.mkdtemp(prefix="kaapana-lab-rootfs-", dir=cfg.cache)
        try:
            subprocess.run(["debootstrap", "--variant=minbase", "--include=python3", "bookworm", rootfs,
                            "http://deb.debian.org/debian"], check=True, stdout=subprocess.DEVNULL)
            shutil.rmtree(os.path.join(rootfs, "var/cache/apt/archives"), ignore_errors=True)
            os.makedirs(os.path.join(rootfs, "var/cache/apt/archives/partial"), exist_ok=True)
            tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
            subprocess.run(["podman", "import", "-", rootfs_tag], stdin=tar.stdout, check=True, env=env,
                           stdout=subprocess.DEVNULL)
            tar.wait()
        finally:
            shutil.rmtree(rootfs, ignore_errors=True)
    log("building node base image %s (apt packages, a few minutes, once per package list)" % tag)
    work = tempfile.mkdtemp(prefix="kaapana-lab-base-")
    try:
        with open(os.path.join(work, "Containerfile"), "w") as handle:
            handle.write(_base_containerfile(cfg))
        podman("build", "-t", tag, work, env=env, capture=False)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return tag


def _standin_deb(workdir):
    """A Debian package named snapd that carries the snap stand-in (/usr/bin/snap), so package tasks
    that ask for snapd find it installed and never pull the real one into a container that can't run it."""
    pkg = os.path.join(workdir, "snapd-standin")
    os.makedirs(os.path.join(pkg, "DEBIAN"))
    os.makedirs(os.path.join(pkg, "usr/bin"))
    # A link to the thin executable, which imports the stand-in package from /usr/lib/kaapana-lab.
    os.symlink("/usr/lib/kaapana-lab/standins/snap", os.path.join(pkg, "usr/bin/snap"))
    with open(os.path.join(pkg, "DEBIAN/control"), "w") as handle:
        handle.write("Package: snapd\nVersion: 0+kaapana.lab.standin\nArchitecture: all\n"
                     "Maintainer: kaapana.platform lab <lab@localhost>\nDepends: python3, python-is-python3\n"
                     "Description: kaapana lab STAND-IN for snapd (not the real snapd)\n"
                     " Speaks snap's command line for the microk8s snap; see lab/standins.\n")
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", pkg, os.path.join(workdir, "snapd-standin.deb")],
                   check=True, stdout=subprocess.DEVNULL)
    return "snapd-standin.deb"


def build_image(cfg, log=print):
    env = podman_env(cfg)
    tag = image_tag(cfg)
    if image_exists(tag, env):
        return tag
    base = build_base(cfg, env, log)
    log("building node image %s (stand-ins on top of %s)" % (tag, base))
    work = tempfile.mkdtemp(prefix="kaapana-lab-image-")
    try:
        shutil.copytree(STANDINS_DIR, os.path.join(work, "standins"),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        shutil.copy(os.path.join(IMAGE_DIR, "init.sh"), os.path.join(work, "init.sh"))
        shutil.copy(os.path.join(IMAGE_DIR, "sshd-lab.conf"), os.path.join(work, "sshd-lab.conf"))
        deb = _standin_deb(work)
        with open(os.path.join(work, "Containerfile"), "w") as handle:
            handle.write(_image_containerfile(base, deb))
        podman("build", "--network=none", "-t", tag, work, env=env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return tag


def ensure_network(cfg, env, name=None, subnet=None, gateway=None):
    """The lab network (or another one: the proxied network). True when it was created now."""
    name = name or cfg.network
    if podman("network", "exists", name, check=False, env=env).returncode != 0:
        podman("network", "create", "--subnet", subnet or cfg.subnet, "--gateway", gateway or cfg.gateway,
               "--label", cfg.container_label + "=1", name, env=env)
        return True
    return False


def node_share(cfg):
    """Refresh the read-only folder every node container mounts at /etc/kaapana-lab."""
    share = cfg.node_share
    os.makedirs(os.path.join(share, "charts"), exist_ok=True)
    for name in ("ca.crt", "admin.crt", "admin.key"):
        shutil.copy(os.path.join(cfg.pki, name), os.path.join(share, name))
        os.chmod(os.path.join(share, name), 0o600)
    with open(os.path.join(share, "lab.env"), "w") as handle:
        handle.write("LAB_API_SERVER=%s\nLAB_REGISTRY=%s\nLAB_SERVICE_CIDR=%s\nLAB_POD_CIDR=%s\nLAB_PROXY=%s\n"
                     % (cfg.api_server, cfg.registry, cfg.service_cidr, cfg.pod_cidr, cfg.proxy_url))
    # the microk8s stand-in's pull credential for its CNI image (lab/registry.py CNI_IMAGE)
    if os.path.exists(cfg.path("registry", "pull-password")):
        from lab import registry
        fd = os.open(os.path.join(share, "registry-pull"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("%s:%s\n" % registry.pull_credentials(cfg))
    shutil.copy(ssh_key(cfg) + ".pub", os.path.join(share, "authorized_keys"))
    os.chmod(os.path.join(share, "authorized_keys"), 0o644)
    charts = cfg.path("charts")
    if os.path.isdir(charts):
        for name in os.listdir(charts):
            shutil.copy(os.path.join(charts, name), os.path.join(share, "charts", name))
    return share


def ssh_key(cfg):
    """The lab's SSH key pair (private key 0600 in the lab state); its public half is authorized on every node."""
    key = cfg.path("ssh", "id_ed25519")
    if not os.path.exists(key):
        os.makedirs(os.path.dirname(key), mode=0o700, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kaapana-lab", "-f", key], check=True)
    return key


def ssh_host_vars(cfg, env, name):
    """Inventory variables that reach a lab node over SSH as root with the lab key, like a real host.
    Host keys are made per container start and addresses are reused, so they are not pinned."""
    return {"ansible_connection": "ssh", "ansible_host": container_ip(env, name),
            "ansible_user": "root", "ansible_ssh_private_key_file": ssh_key(cfg),
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                                       "-o LogLevel=ERROR"}


def wait_for_ssh(cfg, env, name, timeout=60):
    """Wait until a node's sshd accepts connections (systemd starts it a moment after the container)."""
    import socket
    import time
    address, deadline = container_ip(env, name), time.time() + timeout
    while True:
        try:
            with socket.create_connection((address, 22), timeout=2) as conn:
                if conn.recv(4).startswith(b"SSH-"):
                    return address
        except OSError:
            pass
        if time.time() > deadline:
            raise RuntimeError("%s: no SSH server on %s:22 after %ds" % (name, address, timeout))
        time.sleep(0.5)


def node_run_args(cfg, name, primary=False, gpus=None, extra_env=None, domain=None, proxied=False):
    """podman run arguments for a lab node. The container is `name`; its host name is `name`, or `name.domain` for
    an FQDN-named server (the microk8s stand-in then names the Node by the whole FQDN, as MicroK8s does). A proxied
    node is on the proxied network: it reaches the registry only through the lab's proxy (lab/proxy.py)."""
    gpus = gpus or {}
    env = {
        "KAAPANA_LAB_PRIMARY": "true" if primary else "false",
        # snapd's seeding after its first start, during which it refuses changes (LAB_SNAPD_SEED_SECONDS of the
        # caller's environment, default 5 s; the snap stand-in reads it)
        "KAAPANA_LAB_SNAPD_SEED_SECONDS": os.environ.get("LAB_SNAPD_SEED_SECONDS", "5"),
        # MicroK8s' cluster agent enabling the launch configuration's addons (dns) after the start (the microk8s
        # stand-in reads it; LAB_MICROK8S_ADDON_DELAY, default 5 s)
        "KAAPANA_LAB_MICROK8S_ADDON_DELAY": os.environ.get("LAB_MICROK8S_ADDON_DELAY", "5"),
        # a new Node turns Ready this long after it registered, as a real one does once Calico runs on it (the
        # microk8s stand-in annotates the Node, KWOK's lab-node-initialize-after stage waits; LAB_NODE_READY_DELAY)
        "KAAPANA_LAB_NODE_READY_DELAY": os.environ.get("LAB_NODE_READY_DELAY", "5"),
        "KAAPANA_LAB_GPU_COUNT": str(gpus.get("count", 0)),
        "KAAPANA_LAB_GPU_NAME": gpus.get("name", "NVIDIA A100-SXM4-80GB"),
        "KAAPANA_LAB_GPU_MEMORY_MIB": str(gpus.get("memory_mib", 81920)),
        "KAAPANA_LAB_GPU_DRIVER": gpus.get("driver", "580.95.05"),
        "KAAPANA_LAB_GPU_CUDA": gpus.get("cuda", "13.0"),
        "container": "podman",
    }
    env.update(extra_env or {})
    args = ["--name", name, "--hostname", "%s.%s" % (name, domain) if domain else name,
            "--network", cfg.proxied_network if proxied else cfg.network, "--label", cfg.container_label + "=1",
            "--systemd=always", "--cap-add=SYS_ADMIN", "--cap-add=NET_ADMIN",
            "-v", "%s:/etc/kaapana-lab:ro" % cfg.node_share,
            "-v", "%s:/opt/kaapana-lab/bin/kubectl:ro" % cfg.bin("kubectl"),
            "-v", "%s:/opt/kaapana-lab/bin/helm:ro" % cfg.bin("helm"),
            "-v", "%s:/opt/kaapana-lab/bin/helm4:ro" % cfg.bin("helm4")]
    for key, value in sorted(env.items()):
        args += ["-e", "%s=%s" % (key, value)]
    return args


def start_anchor(cfg, env, image):
    """A tiny container that keeps the lab bridge (and so the gateway address) up while no node runs."""
    state = podman("container", "inspect", ANCHOR, "--format", "{{.State.Running}}", check=False, env=env)
    if state.returncode == 0 and state.stdout.strip() == "true":
        return None
    podman("rm", "-f", ANCHOR, check=False, env=env)
    cid = podman("run", "-d", "--name", ANCHOR, "--network", cfg.network, "--label", cfg.container_label + "=1",
                 "--entrypoint", "/bin/sleep", image, "infinity", env=env).stdout.strip()
    return cid


def start_node(cfg, env, image, name, primary=False, gpus=None, domain=None, proxied=False):
    podman("rm", "-f", name, check=False, env=env)
    return podman("run", "-d", *node_run_args(cfg, name, primary, gpus, domain=domain, proxied=proxied), image,
                  env=env).stdout.strip()


def container_ip(env, name, network=None):
    """The container's address on `network`, else on its only network."""
    networks = json.loads(podman("container", "inspect", name, "--format", "{{json .NetworkSettings.Networks}}",
                                 env=env).stdout)
    return (networks[network] if network else next(iter(networks.values())))["IPAddress"]


def remove_containers(env, ids):
    for cid in ids:
        podman("rm", "-f", "-t", "5", cid, check=False, env=env)


# What the microk8s stand-in creates in the shared lab API for the cluster a primary node formed (its teardown_cluster
# deletes the same on a reinstall), labelled kaapana.lab/standin-cluster=<the primary's Node name>.
CLUSTER_KINDS = ("deployments.apps,daemonsets.apps,services,configmaps,secrets,serviceaccounts,"
                 "clusterroles.rbac.authorization.k8s.io,clusterrolebindings.rbac.authorization.k8s.io,"
                 "storageclasses.storage.k8s.io")


def remove_node(cfg, env, container_id):
    """Remove a node container and what the simulated cluster it formed left in the lab API: a real cluster goes
    with its servers, and a later cluster's fresh MicroK8s must not find the old one's CoreDNS (its role would take
    that for the dns addon of its own start)."""
    res = podman("inspect", "--format", "{{.Config.Hostname}}", container_id, check=False, env=env)
    hostname = res.stdout.strip().lower() if res.returncode == 0 else ""
    remove_containers(env, [container_id])
    if not hostname or not os.path.exists(cfg.kubeconfig):
        return
    selector = "kaapana.lab/standin-cluster=%s" % hostname
    for kinds in (CLUSTER_KINDS, "namespaces"):
        subprocess.run([cfg.bin("kubectl"), "--kubeconfig", cfg.kubeconfig, "delete", kinds, "-A", "-l", selector,
                        "--ignore-not-found", "--wait=false"], capture_output=True, text=True, timeout=120,
                       check=False)
