"""Where the lab lives and how its parts find each other.

Everything that is built (Go binaries, the node image) is cached outside the checkout,
keyed by version, in KAAPANA_LAB_CACHE. Everything a running lab owns (PKI, PIDs,
logs, the registry password) lives in the checkout's .lab/ folder (git-ignored),
or in KAAPANA_LAB_STATE.
"""
import os
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

K8S_VERSION = os.environ.get("LAB_K8S_VERSION", "v1.34.4")
ETCD_VERSION = os.environ.get("LAB_ETCD_VERSION", "v3.6.16")
KWOK_VERSION = os.environ.get("LAB_KWOK_VERSION", "v0.8.0")
HELM_VERSION = os.environ.get("LAB_HELM_VERSION", "v3.21.4")
HELM4_VERSION = os.environ.get("LAB_HELM4_VERSION", "v4.3.2")
# Helm majors the lab provides: the name of each binary under cfg.bin().
HELM_BINARIES = {3: "helm", 4: "helm4"}
REGISTRY_DEB_VERSION = "2.8.2+ds1-1"


@dataclass(frozen=True)
class LabConfig:
    cache: str = os.environ.get("KAAPANA_LAB_CACHE", "/var/cache/kaapana-lab")
    state: str = os.environ.get("KAAPANA_LAB_STATE", os.path.join(ROOT, ".lab"))
    # The lab's Podman network. Lab services bind to its gateway address (plus loopback
    # for etcd and the component health ports), never to a wildcard address.
    network: str = "kaapana-lab"
    subnet: str = "10.89.0.0/24"
    gateway: str = "10.89.0.1"
    api_port: int = 6443
    registry_port: int = 5000
    registry_user: str = "kaapana-lab"
    # The user the microk8s stand-in pulls its CNI image as (real Calico images are public; the lab registry is
    # password-protected throughout, and this credential is no secret of any deploy).
    registry_pull_user: str = "kaapana-lab-pull"
    # The lab's forward proxy (Debian's squid) on the gateway. Not 3128: where systemd runs the squid package's own
    # service, it holds *:3128.
    proxy_port: int = 3129
    # Nodes on this network reach the lab API server and the proxy, nothing else on this host: the registry only
    # through squid (host firewall rules, see lab/proxy.py), as a hospital server reaches the internet.
    proxied_network: str = "kaapana-lab-proxied"
    proxied_subnet: str = "10.89.1.0/24"
    proxied_gateway: str = "10.89.1.1"
    pod_cidr: str = "10.244.0.0/16"
    service_cidr: str = "10.152.183.0/24"
    node_image: str = "localhost/kaapana-lab-node"
    container_label: str = "io.kaapana.lab"
    extra: dict = field(default_factory=dict)

    # binaries -----------------------------------------------------------------
    def bin(self, name):
        folders = {
            "etcd": "etcd-" + ETCD_VERSION, "etcdctl": "etcd-" + ETCD_VERSION,
            "kwok": "kwok-" + KWOK_VERSION, "helm": "helm-" + HELM_VERSION,
            "helm4": "helm-" + HELM4_VERSION,
        }
        folder = folders.get(name, "kubernetes-" + K8S_VERSION)
        # Both majors' binaries are called helm inside their version folder.
        return os.path.join(self.cache, folder, "bin", "helm" if name == "helm4" else name)

    @property
    def kwok_stage_dir(self):
        return os.path.join(self.cache, "kwok-" + KWOK_VERSION, "stage")

    # state ----------------------------------------------------------------------
    def path(self, *parts):
        return os.path.join(self.state, *parts)

    @property
    def pki(self):
        return self.path("pki")

    @property
    def kubeconfig(self):
        return self.path("admin.kubeconfig")

    @property
    def api_server(self):
        return "https://%s:%d" % (self.gateway, self.api_port)

    @property
    def registry(self):
        return "%s:%d" % (self.gateway, self.registry_port)

    @property
    def proxy_url(self):
        return "http://%s:%d" % (self.gateway, self.proxy_port)

    @property
    def registry_password_file(self):
        return self.path("registry", "password")

    def registry_password(self):
        with open(self.registry_password_file) as handle:
            return handle.read().strip()

    def gateway_is_local(self):
        """True while the lab bridge carries the gateway address on this host. Probes of lab addresses
        are only made then: otherwise a connection to 10.89.0.1 would leave the machine by the default
        route, and lab traffic must never go anywhere but this host."""
        import subprocess
        res = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, check=False)
        return any(part.split("/")[0] == self.gateway for line in res.stdout.splitlines() for part in line.split())

    @property
    def node_share(self):
        """Folder mounted read-only into every node container at /etc/kaapana-lab."""
        return self.path("node-share")


CONFIG = LabConfig()
