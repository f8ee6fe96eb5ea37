"""Unit tests of the lab stand-ins (lab/standins): snap, microk8s, nvidia-smi, provisioner.

The stand-ins run as subprocesses against a fake root (KAAPANA_LAB_STANDIN_ROOT) so nothing on
the host is touched. The lab API is replaced by lab/tests/fake_kubectl.py, a tiny object
store that answers the kubectl command lines the microk8s stand-in issues. Expected outputs are
taken from the upstream programs: canonical/microk8s 1.33 (status.py, add_token.py, join.py,
default-args, refresh_certs.py, actions/common/utils.sh), snapd (cmd/snapd/cli), Go's text/tabwriter, PyYAML
and NVIDIA nvidia-smi captures. The certificate tests need `openssl` on PATH (the microk8s stand-in runs it) and
parse what it made with the `cryptography` package.
"""
import base64
import datetime
import hashlib
import importlib.machinery
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import time

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from lab.standins import common
from lab.standins import nvidia_smi as smi

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
STANDINS = os.path.join(ROOT, "lab", "standins")
SNAP = os.path.join(STANDINS, "snap")
MICROK8S = os.path.join(STANDINS, "microk8s")
NVIDIA_SMI = os.path.join(STANDINS, "nvidia-smi")
FAKE_KUBECTL = os.path.join(HERE, "fake_kubectl.py")
NOW = 1767225600.0  # 2026-01-01T00:00:00Z
TOKEN = "0123456789abcdef0123456789abcdef"
# any PEM armour works for the fingerprint (ssl.PEM_cert_to_DER_cert only decodes base64)
CA_PEM = "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n" % base64.b64encode(b"lab-ca" * 10).decode()


def load(path, name):
    loader = importlib.machinery.SourceFileLoader(name, path)
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAAPANA_LAB")}
    env.update({"KAAPANA_LAB_STANDIN_NOW": str(NOW), "TZ": "UTC", "LANG": "C.UTF-8"})
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


def run(tool, *args, env=None, stdin=None):
    cmd = [sys.executable, tool] + list(args)
    proc = subprocess.run(cmd, env=env, input=stdin, capture_output=True, text=True, timeout=60, check=False)
    return proc


# ---- fixtures ---------------------------------------------------------------------------------------
@pytest.fixture
def api(tmp_path):
    """A fake lab API shared by every fake node of the test."""
    store = tmp_path / "api.json"
    kubectl = tmp_path / "kubectl"
    kubectl.write_text("#!/bin/sh\nexec %s %s \"$@\"\n" % (sys.executable, FAKE_KUBECTL))
    kubectl.chmod(0o755)
    helm = tmp_path / "helm"
    helm.write_text("#!/bin/sh\necho \"$@\" >> %s\ncat > %s\necho 'STATUS: deployed'\n"
                    % (tmp_path / "helm.log", tmp_path / "helm.stdin"))
    helm.chmod(0o755)

    class Api:
        path = store
        kubectl_path = str(kubectl)
        helm_path = str(helm)
        helm_log = tmp_path / "helm.log"

        def objects(self):
            if not store.exists():
                return {}
            return json.loads(store.read_text())["objects"]

        def get(self, kind, name, namespace=""):
            return self.objects().get("%s/%s/%s" % (kind, namespace, name))

    return Api()


@pytest.fixture(scope="session")
def rsa_keys(tmp_path_factory):
    """Ready RSA keys for the microk8s stand-in's certificates (KAAPANA_LAB_STANDIN_RSA_KEYS): `openssl genrsa`
    costs ~0.5 s per install; the certificate tests switch the pool off and let openssl make them."""
    folder = tmp_path_factory.mktemp("rsa-keys")
    for name in ("kaapana-lab-standin-ca.key", "server.key", "front-proxy-ca.key", "front-proxy-client.key"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (folder / name).write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()))
    return folder


@pytest.fixture
def node_factory(tmp_path, api, rsa_keys):
    def make(name, ip, primary=False, gpus=0, with_lab_files=True):
        root = tmp_path / name
        (root / "etc").mkdir(parents=True)
        (root / "etc" / "resolv.conf").write_text("nameserver 10.89.0.1\n")
        if with_lab_files:
            lab = root / "etc" / "kaapana-lab"
            lab.mkdir()
            (lab / "lab.env").write_text("LAB_API_SERVER=https://10.89.0.1:6443\nLAB_REGISTRY=10.89.0.1:5000\n")
            (lab / "ca.crt").write_text(CA_PEM)
            (lab / "admin.crt").write_text("ADMIN CERT\n")
            (lab / "admin.key").write_text("ADMIN KEY\n")
        env = clean_env(KAAPANA_LAB_STANDIN_ROOT=str(root), KAAPANA_LAB_STANDIN_IPS=ip,
                        KAAPANA_LAB_NODE_NAME=name, KAAPANA_LAB_PRIMARY="true" if primary else "false",
                        KAAPANA_LAB_GPU_COUNT=str(gpus), KAAPANA_LAB_STANDIN_KUBECTL=api.kubectl_path,
                        KAAPANA_LAB_STANDIN_HELM=api.helm_path, FAKE_KUBE_STORE=str(api.path),
                        FAKE_KUBE_READY_NODE="1", PATH="/usr/bin:/bin:/snap/bin",
                        KAAPANA_LAB_STANDIN_RSA_KEYS=str(rsa_keys))

        class Node:
            pass

        node = Node()
        node.root, node.env, node.name, node.ip = root, env, name, ip

        def snap(*args, **kw):
            return run(SNAP, *args, env=dict(env, **kw.pop("env", {})), **kw)

        def microk8s(*args, **kw):
            return run(MICROK8S, *args, env=dict(env, **kw.pop("env", {})), **kw)

        node.snap, node.microk8s = snap, microk8s
        node.data = root / "var" / "snap" / "microk8s" / "current"
        return node

    return make


@pytest.fixture
def primary(node_factory):
    node = node_factory("main", "10.89.0.2 10.0.2.15", primary=True)
    proc = node.snap("install", "microk8s", "--classic", "--channel=1.33/stable")
    assert proc.returncode == 0, proc.stderr
    return node


def test_the_cluster_agent_enables_dns_some_seconds_after_the_install(node_factory):
    # MicroK8s' cluster agent applies the launch configuration (dns) in the background after the first start.
    node = node_factory("late-dns", "10.89.0.14", primary=True)
    delayed = {"KAAPANA_LAB_MICROK8S_ADDON_DELAY": "20"}
    assert node.snap("install", "microk8s", "--classic", "--channel=1.33/stable", env=delayed).returncode == 0
    assert node.microk8s("status", "-a", "dns", env=delayed).stdout == "disabled\n"
    later = dict(delayed, KAAPANA_LAB_STANDIN_NOW=str(NOW + 21))
    assert node.microk8s("status", "-a", "dns", env=later).stdout == "enabled\n"
    proc = node.microk8s("enable", "dns", env=later)
    assert proc.stdout == "Addon core/dns is already enabled\n", proc.stdout + proc.stderr


@pytest.fixture
def worker(node_factory):
    node = node_factory("worker1", "10.89.0.3")
    proc = node.snap("install", "microk8s", "--classic", "--channel=1.33/stable")
    assert proc.returncode == 0, proc.stderr
    return node


# ---- Go text/tabwriter (snap list/info, ctr images ls) -------------------------------------------------
GO_SNAP_LIST = (
    "Name      Version   Rev   Tracking       Publisher    Notes\n"
    "core20    20250526  2582  latest/stable  canonical**  base\n"
    "microk8s  v1.33.5   8205  1.33/stable    canonical**  classic,held")
GO_CTR_LS = (
    "REF                            TYPE                                                 DIGEST        SI"
    "ZE      PLATFORMS               LABELS                          \n"
    "docker.io/library/busybox:1.36 application/vnd.docker.distribution.manifest.v2+json sha256:abc    46"
    ".0 B    linux/amd64             io.cri-containerd.image=managed \n"
    "k8s.gcr.io/pause:3.10          application/vnd.oci.image.index.v1+json              sha256:abcdef 30"
    "0.5 KiB linux/amd64,linux/arm64 -                               ")
GO_INFO = (
    "name:      microk8s\npublisher: Canonical**\ndescription: |\n  text\n"
    "  microk8s.daemon-x:      simple, enabled, active\n  microk8s.daemon-longer: notify, enabled, active\n"
    "channels:\n  1.33/stable: v1.33.5 2025-01-01 (8205) 176MB classic\ninstalled:     v1.33.5            (8205) 176MB classic")


def test_tabwriter_matches_go_text_tabwriter():
    rows = ["Name\tVersion\tRev\tTracking\tPublisher\tNotes",
            "core20\t20250526\t2582\tlatest/stable\tcanonical**\tbase",
            "microk8s\tv1.33.5\t8205\t1.33/stable\tcanonical**\tclassic,held"]
    assert "\n".join(common.tabwrite(rows, 5, 2)) == GO_SNAP_LIST
    rows = ["REF\tTYPE\tDIGEST\tSIZE\tPLATFORMS\tLABELS\t",
            "docker.io/library/busybox:1.36\tapplication/vnd.docker.distribution.manifest.v2+json\tsha256:abc\t46"
            ".0 B\tlinux/amd64\tio.cri-containerd.image=managed\t",
            "k8s.gcr.io/pause:3.10\tapplication/vnd.oci.image.index.v1+json\tsha256:abcdef\t300.5 KiB\tlinux/amd64,linux/arm64\t-\t"]
    assert "\n".join(common.tabwrite(rows, 1, 1)) == GO_CTR_LS
    rows = ["name:\tmicrok8s", "publisher:\tCanonical**", "description: |", "  text",
            "  microk8s.daemon-x:\tsimple, enabled, active", "  microk8s.daemon-longer:\tnotify, enabled, active",
            "channels:", "  1.33/stable:\tv1.33.5\t2025-01-01\t(8205)\t176MB\tclassic",
            "installed:\tv1.33.5\t\t(8205)\t176MB\tclassic"]
    assert "\n".join(common.tabwrite(rows, 2, 1)) == GO_INFO


def test_common_node_env_falls_back_to_pid_1_and_reads_lab_env(tmp_path, monkeypatch):
    """sudo/SSH drop the lab's variables: the container's own (PID 1) environment answers then."""
    (tmp_path / "proc" / "1").mkdir(parents=True)
    (tmp_path / "proc" / "1" / "environ").write_bytes(b"KAAPANA_LAB_GPU_COUNT=2\0KAAPANA_LAB_PRIMARY=true\0")
    (tmp_path / "etc" / "kaapana-lab").mkdir(parents=True)
    (tmp_path / "etc" / "kaapana-lab" / "lab.env").write_text(
        "# lab\nLAB_API_SERVER=\"https://10.89.0.1:6443\"\nLAB_REGISTRY = '10.89.0.1:5000'\nnot a pair\n")
    monkeypatch.setattr(common, "ROOT", str(tmp_path))
    monkeypatch.delenv("KAAPANA_LAB_GPU_COUNT", raising=False)
    monkeypatch.setenv("KAAPANA_LAB_PRIMARY", "false")
    assert common.node_env("KAAPANA_LAB_GPU_COUNT") == "2"
    assert common.node_env("KAAPANA_LAB_PRIMARY") == "false"
    assert common.node_env("KAAPANA_LAB_MISSING", "x") == "x"
    assert common.lab_env() == {"LAB_API_SERVER": "https://10.89.0.1:6443", "LAB_REGISTRY": "10.89.0.1:5000"}
    assert common.P("/etc/kaapana-lab/lab.env") == str(tmp_path / "etc" / "kaapana-lab" / "lab.env")
    monkeypatch.setattr(common, "ROOT", "/")
    assert common.P("/etc/x") == "/etc/x"


def test_executables_work_through_symlinks(tmp_path):
    """The image links /usr/bin/snap and /usr/bin/nvidia-smi to the thin executables, and snap's
    aliases link to microk8s: each finds its package through its real location."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, target in (("snap", SNAP), ("nvidia-smi", NVIDIA_SMI), ("microk8s.version", MICROK8S)):
        (bin_dir / name).symlink_to(target)
    env = clean_env(KAAPANA_LAB_STANDIN_ROOT=str(tmp_path), KAAPANA_LAB_GPU_COUNT="1")
    assert run(str(bin_dir / "snap"), "version", env=env).stdout.split("\n")[0].split() == ["snap", "0+kaapana.lab.standin"]
    assert run(str(bin_dir / "nvidia-smi"), "-L", env=env).stdout.startswith("GPU 0: ")
    proc = run(str(bin_dir / "microk8s.version"), env=env)
    assert proc.returncode == 0 and proc.stdout.startswith("MicroK8s v1.33"), proc.stdout + proc.stderr


# ---- nvidia-smi ----------------------------------------------------------------------------------------
def smi_env(tmp_path, **extra):
    env = clean_env(KAAPANA_LAB_STANDIN_ROOT=str(tmp_path), KAAPANA_LAB_GPU_COUNT="2",
                    KAAPANA_LAB_GPU_NAME="NVIDIA A100-SXM4-80GB", KAAPANA_LAB_GPU_MEMORY_MIB="81920",
                    KAAPANA_LAB_GPU_DRIVER="580.95.05", KAAPANA_LAB_GPU_CUDA="13.0", KAAPANA_LAB_NODE_NAME="gpu-node")
    env.update(extra)
    return env


def test_nvidia_smi_rows_match_real_captures():
    # nvidia-smi 580.x captures (Tesla T4 on AWS; RTX 5090 laptop name truncation; Quadro with a fan)
    assert smi.gpu_rows(0, "Tesla T4", "On", "00000000:00:1E.0", "Off", "0", "N/A", 30, "P8", 9, 70, 0, 15360, 0,
                        "Default", "N/A") == [
        "|   0  Tesla T4                       On  |   00000000:00:1E.0 Off |                    0 |",
        "| N/A   30C    P8              9W /   70W |       0MiB /  15360MiB |      0%      Default |",
        "|                                         |                        |                  N/A |"]
    assert smi.gpu_rows(0, "NVIDIA GeForce RTX 5090 Laptop GPU", "On", "00000000:01:00.0", "Off", "N/A", "N/A", 45,
                        "P8", 5, 150, 22504, 24463, 0, "Default", "N/A")[:2] == [
        "|   0  NVIDIA GeForce RTX 5090 ...    On  |   00000000:01:00.0 Off |                  N/A |",
        "| N/A   45C    P8              5W /  150W |   22504MiB /  24463MiB |      0%      Default |"]
    assert smi.gpu_rows(0, "Quadro RTX 8000", "Off", "00000000:15:00.0", "Off", "Off", "33%", 30, "P8", 13, 260,
                        14453, 49152, 1, "Default", "N/A")[:2] == [
        "|   0  Quadro RTX 8000                Off |   00000000:15:00.0 Off |                  Off |",
        "| 33%   30C    P8             13W /  260W |   14453MiB /  49152MiB |      1%      Default |"]


def test_nvidia_smi_plain_table(tmp_path):
    proc = run(NVIDIA_SMI, env=smi_env(tmp_path))
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0] == "Thu Jan  1 00:00:00 2026       "
    assert lines[2] == "| NVIDIA-SMI 580.95.05              Driver Version: 580.95.05      CUDA Version: 13.0     |"
    assert lines[4] == "| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |"
    assert lines[8] == "|   0  NVIDIA A100-SXM4-80GB          On  |   00000000:07:00.0 Off |                    0 |"
    assert lines[9].endswith("|       0MiB /  81920MiB |      0%      Default |")
    assert lines[10].endswith("|             Disabled |")
    assert lines[12].startswith("|   1  NVIDIA A100-SXM4-80GB")
    assert all(len(line) == 91 for line in lines[1:] if line)
    assert lines[-2] == "|  No running processes found                                                             |"
    assert "CUDA Version" not in run(NVIDIA_SMI, "--query-gpu=name", "--format=csv", env=smi_env(tmp_path)).stdout


def test_nvidia_smi_list_and_version(tmp_path):
    proc = run(NVIDIA_SMI, "-L", env=smi_env(tmp_path))
    lines = proc.stdout.splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r"GPU 0: NVIDIA A100-SXM4-80GB \(UUID: GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\)",
                        lines[0])
    assert run(NVIDIA_SMI, "--version", env=smi_env(tmp_path)).stdout == (
        "NVIDIA-SMI version  : 580.95.05\nNVML version        : 580.95\n"
        "DRIVER version      : 580.95.05\nCUDA Version        : 13.0\n")


def test_nvidia_smi_query_gpu_csv(tmp_path):
    fields = "index,name,uuid,memory.total,memory.used,memory.free,driver_version,pci.bus_id,compute_cap,count"
    proc = run(NVIDIA_SMI, "--query-gpu=" + fields, "--format=csv", env=smi_env(tmp_path))
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0] == ("index, name, uuid, memory.total [MiB], memory.used [MiB], memory.free [MiB], "
                        "driver_version, pci.bus_id, compute_cap, count")
    uuid = run(NVIDIA_SMI, "-L", env=smi_env(tmp_path)).stdout.splitlines()[0].split("UUID: ")[1].rstrip(")")
    assert lines[1] == ("0, NVIDIA A100-SXM4-80GB, %s, 81920 MiB, 0 MiB, 81920 MiB, 580.95.05, 00000000:07:00.0, 8.0, 2"
                        % uuid)
    assert len(lines) == 3
    proc = run(NVIDIA_SMI, "--query-gpu=name,memory.total,count", "--format=csv,noheader,nounits", env=smi_env(tmp_path))
    assert proc.stdout == "NVIDIA A100-SXM4-80GB, 81920, 2\nNVIDIA A100-SXM4-80GB, 81920, 2\n"
    proc = run(NVIDIA_SMI, "--query-gpu", "gpu_name,utilization.gpu,power.limit", "--format", "csv,noheader",
               "-i", "1", env=smi_env(tmp_path))
    assert proc.stdout == "NVIDIA A100-SXM4-80GB, 0 %, 400.00 W\n"


def test_nvidia_smi_unknown_field_and_no_devices(tmp_path):
    proc = run(NVIDIA_SMI, "--query-gpu=index,cuda_version", "--format=csv", env=smi_env(tmp_path))
    assert proc.returncode == 2
    assert proc.stdout == 'Field "cuda_version" is not a valid field to query.\n\n'
    proc = run(NVIDIA_SMI, env=smi_env(tmp_path, KAAPANA_LAB_GPU_COUNT="0"))
    assert (proc.returncode, proc.stdout) == (6, "No devices were found\n")


def test_nvidia_smi_reads_pid1_environment(tmp_path):
    env = clean_env(KAAPANA_LAB_STANDIN_ROOT=str(tmp_path))
    (tmp_path / "proc" / "1").mkdir(parents=True)
    (tmp_path / "proc" / "1" / "environ").write_bytes(
        b"container=podman\0KAAPANA_LAB_GPU_COUNT=1\0KAAPANA_LAB_GPU_NAME=NVIDIA H100 80GB HBM3\0"
        b"KAAPANA_LAB_GPU_MEMORY_MIB=81559\0KAAPANA_LAB_GPU_DRIVER=570.86.15\0KAAPANA_LAB_GPU_CUDA=12.8\0")
    proc = run(NVIDIA_SMI, "--query-gpu=name,memory.total,driver_version,compute_cap", "--format=csv,noheader", env=env)
    assert proc.stdout == "NVIDIA H100 80GB HBM3, 81559 MiB, 570.86.15, 9.0\n"
    assert "CUDA Version: 12.8" in run(NVIDIA_SMI, env=env).stdout


# ---- snap ------------------------------------------------------------------------------------------------
def test_snap_install_needs_classic_and_valid_channel(node_factory):
    node = node_factory("n1", "10.89.0.9")
    proc = node.snap("install", "microk8s", "--channel=1.33/stable")
    assert proc.returncode == 1
    assert proc.stderr == (
        'error: This revision of snap "microk8s" was published using classic confinement\n'
        "       and thus may perform arbitrary system changes outside of the security\n"
        "       sandbox that snaps are usually confined to, which may put your system at\n"
        "       risk.\n\n"
        "       If you understand and want to proceed repeat the command including\n"
        "       --classic.\n")
    proc = node.snap("install", "microk8s", "--classic", "--channel=1.33/stabel")
    assert (proc.returncode, proc.stderr) == (1, "error: cannot parse channel: invalid risk in channel name: 1.33/stabel\n")
    proc = node.snap("install", "microk8s", "--classic", "--channel=1.99/stable")
    assert proc.returncode == 1
    # wrapped as snapd's fill() (go/doc ToText, 79 columns, 7 spaces) does; checked against Go 1.24
    assert proc.stderr.startswith('error: snap "microk8s" is not available on 1.99/stable but is available to\n'
                                  "       install on the following tracks:\n\n"
                                  "       latest/stable       snap install --stable microk8s\n"
                                  "       1.35/stable         snap install --channel=1.35 microk8s\n")
    assert "       1.33/stable         snap install --channel=1.33 microk8s\n" in proc.stderr
    assert proc.stderr.endswith("\n\n       Please be mindful that different tracks may include different features.\n"
                                "       Get more information with 'snap info microk8s'.\n")
    proc = node.snap("install", "no-such-snap")
    assert (proc.returncode, proc.stderr) == (1, 'error: snap "no-such-snap" not found\n')
    assert not (node.root / "snap" / "microk8s").exists()


def test_snap_refuses_changes_until_seeded_and_wait_returns_then(node_factory):
    # snapd seeds after its first start (here: the first snap command) and refuses changes until then.
    node = node_factory("n-seed", "10.89.0.12")
    seeding = {"KAAPANA_LAB_SNAPD_SEED_SECONDS": "30"}
    assert node.snap("list", env=seeding).returncode == 0  # reads are served; seeding starts
    too_early = "error: too early for operation, device not yet seeded or device model not acknowledged\n"
    for argv in (["install", "microk8s", "--classic"], ["set", "system", "proxy.http=http://p:3128"],
                 ["refresh", "--hold", "microk8s"]):
        proc = node.snap(*argv, env=dict(seeding, KAAPANA_LAB_STANDIN_NOW=str(NOW + 10)))
        assert (proc.returncode, proc.stderr) == (1, too_early), argv
    put = node.snap("debug", "api", "-X", "PUT", "/v2/snaps/system/conf", stdin='{"proxy.http": "http://p:3128"}',
                    env=dict(seeding, KAAPANA_LAB_STANDIN_NOW=str(NOW + 10)))
    assert json.loads(put.stdout)["status-code"] == 409 and "too early" in put.stdout
    later = dict(seeding, KAAPANA_LAB_STANDIN_NOW=str(NOW + 31))
    assert node.snap("wait", "system", "seed.loaded", env=later).returncode == 0
    proc = node.snap("install", "microk8s", "--classic", "--channel=1.33/stable", env=later)
    assert proc.returncode == 0, proc.stderr


def test_snap_path_warning(node_factory):
    node = node_factory("n2", "10.89.0.10")
    proc = node.snap("install", "microk8s", "--classic", env={"PATH": "/usr/bin:/bin"})
    assert proc.stdout == "microk8s v1.35.0 from Canonical** installed\n"  # latest/stable: no channel shown
    assert proc.stderr == ("Warning: /snap/bin was not found in your $PATH. If you've not restarted\n"
                           "         your session since you installed snapd, try doing that. Please see\n"
                           "         https://forum.snapcraft.io/t/9469 for more details.\n\n")


def test_snap_install_list_info(primary):
    node = primary
    proc = node.snap("list")
    assert proc.stdout == (
        "Name      Version   Rev    Tracking       Publisher    Notes\n"
        "core20    20250526  2582   latest/stable  canonical**  base\n"
        "microk8s  v1.33.5   8205   1.33/stable    canonical**  classic\n"
        "snapd     2.68.5    24718  latest/stable  canonical**  snapd\n")
    again = node.snap("install", "microk8s", "--classic", "--channel=1.33/stable")
    assert (again.returncode, again.stdout, again.stderr) == (
        0, "", "snap \"microk8s\" is already installed, see 'snap help refresh'\n")
    info = node.snap("info", "microk8s").stdout
    assert info.startswith("name:      microk8s\nsummary:   Kubernetes for workstations and appliances\n"
                           "publisher: Canonical**\nstore-url: https://snapcraft.io/microk8s\n")
    assert "\nsnap-id:      EaXqgt1lyCaxKaQCU349mlodBkDCXRcg\ntracking:     1.33/stable\n" in info
    assert "refresh-date: today at 00:00 UTC\nchannels:\n" in info
    assert re.search(r"^  1\.33/stable: +v1\.33\.5 +\S+ \(8205\) \d+MB classic$", info, re.M)
    assert re.search(r"^installed: +v1\.33\.5 +\(8205\) +\d+MB classic$", info, re.M)
    assert "  microk8s.daemon-kubelite:         simple, enabled, active" in info
    version = node.snap("version").stdout
    assert version.startswith("snap          0+kaapana.lab.standin\nsnapd         0+kaapana.lab.standin\nseries        16\n")
    assert "stand-in      kaapana lab stand-in for snapd (not the real snapd)" in version


def test_snap_install_layout_and_microk8s_commands(primary):
    root = primary.root
    assert os.path.realpath(root / "snap" / "bin" / "microk8s") == os.path.realpath(MICROK8S)
    for app in ("kubectl", "status", "enable", "ctr", "helm3", "config", "add-node", "join", "leave", "remove-node"):
        assert os.path.realpath(root / "snap" / "bin" / ("microk8s." + app)) == os.path.realpath(MICROK8S)
    assert os.readlink(root / "var" / "snap" / "microk8s" / "current") == "8205"
    assert (root / "var" / "snap" / "microk8s" / "common" / "addons" / "core" / "addons.yaml").exists()
    assert "microk8s:x:" in (root / "etc" / "group").read_text()
    proc = run(str(root / "snap" / "bin" / "microk8s.version"), env=primary.env)
    assert proc.stdout.startswith("MicroK8s v1.33.5 revision 8205\n")
    assert primary.snap("alias", "microk8s.kubectl", "kubectl").stdout == "Added:\n  - microk8s.kubectl as kubectl\n"
    assert os.readlink(root / "snap" / "bin" / "kubectl") == "microk8s.kubectl"
    proc = run(str(root / "snap" / "bin" / "kubectl"), "version", env=dict(primary.env, KAAPANA_LAB_STANDIN_KUBECTL="/bin/echo"))
    assert proc.stdout == "version\n"


# canonical/microk8s branch 1.33, microk8s-resources/default-args/
UPSTREAM_CONTROLLER_MANAGER = """--kubeconfig=${SNAP_DATA}/credentials/controller.config
--service-account-private-key-file=${SNAP_DATA}/certs/serviceaccount.key
--root-ca-file=${SNAP_DATA}/certs/ca.crt
--cluster-signing-cert-file=${SNAP_DATA}/certs/ca.crt
--cluster-signing-key-file=${SNAP_DATA}/certs/ca.key
--use-service-account-credentials
--leader-elect-lease-duration=60s
--leader-elect-renew-deadline=30s
--profiling=false
"""
UPSTREAM_SCHEDULER = """--kubeconfig=${SNAP_DATA}/credentials/scheduler.config
--leader-elect-lease-duration=60s
--leader-elect-renew-deadline=30s
--profiling=false
"""
UPSTREAM_PROXY = """--kubeconfig=${SNAP_DATA}/credentials/proxy.config
--cluster-cidr=10.1.0.0/16
--healthz-bind-address=127.0.0.1
--profiling=false
"""
UPSTREAM_CONTAINERD = """--config ${SNAP_DATA}/args/containerd.toml
--root ${SNAP_COMMON}/var/lib/containerd
--state ${SNAP_COMMON}/run/containerd
--address ${SNAP_COMMON}/run/containerd.sock
"""
UPSTREAM_KUBELET_HEAD = """--kubeconfig=${SNAP_DATA}/credentials/kubelet.config
--cert-dir=${SNAP_DATA}/certs
--client-ca-file=${SNAP_DATA}/certs/ca.crt
--anonymous-auth=false
--root-dir=${SNAP_COMMON}/var/lib/kubelet
--fail-swap-on=false
"""


def test_args_files_have_microk8s_1_33_defaults(worker):
    args = worker.data / "args"
    assert (args / "kube-controller-manager").read_text() == UPSTREAM_CONTROLLER_MANAGER
    assert (args / "kube-scheduler").read_text() == UPSTREAM_SCHEDULER
    assert (args / "kube-proxy").read_text() == UPSTREAM_PROXY
    assert (args / "containerd").read_text() == UPSTREAM_CONTAINERD
    apiserver = (args / "kube-apiserver").read_text()
    assert apiserver.startswith("--cert-dir=${SNAP_DATA}/certs\n--service-cluster-ip-range=10.152.183.0/24\n"
                                "--authorization-mode=AlwaysAllow\n")
    assert '--etcd-servers="unix://${SNAP_DATA}/var/kubernetes/backend/kine.sock:12379"\n' in apiserver
    assert "--secure-port=16443\n" in apiserver and "#~Enable the aggregation layer\n" in apiserver
    kubelet = (args / "kubelet").read_text()
    # the dns addon of the default launch configuration put the host's resolv.conf on top, and the
    # launch configuration's extraKubeletArgs were appended (cluster-agent UpdateServiceArguments)
    assert kubelet.startswith("--resolv-conf=/etc/resolv.conf\n" + UPSTREAM_KUBELET_HEAD)
    assert kubelet.endswith("--serialize-image-pulls=false\n--cluster-domain=cluster.local\n--cluster-dns=10.152.183.10\n")
    assert "ulimit -n 65536 || true" in (args / "containerd-env").read_text()
    assert 'sandbox_image = "registry.k8s.io/pause:3.10"' in (args / "containerd-template.toml").read_text()
    toml = (args / "containerd.toml").read_text()
    assert 'snapshotter = "overlayfs"' in toml and 'runtime_type = "io.containerd.runc.v2"' in toml
    assert 'bin_dir = "/var/snap/microk8s/8205/opt/cni/bin"' in toml
    assert (args / "certs.d" / "localhost:32000" / "hosts.toml").exists()
    assert (args / "cni-network" / "cni.yaml").exists()
    assert (args / "ctr").read_text() == "--address=${SNAP_COMMON}/run/containerd.sock\n--namespace k8s.io\n"
    for lock in ("ha-cluster", "lite.lock", "no-etcd", "no-flanneld", "no-apiserver-proxy"):
        assert (worker.data / "var" / "lock" / lock).exists()


def test_snap_refresh_hold_and_unhold(primary):
    proc = primary.snap("refresh", "--hold", "microk8s")
    assert proc.stdout == 'General refreshes of "microk8s" held indefinitely\n'
    assert "microk8s  v1.33.5   8205   1.33/stable    canonical**  classic,held" in primary.snap("list").stdout
    assert "\nhold:         forever\n" in primary.snap("info", "microk8s").stdout
    proc = primary.snap("refresh", "--hold=24h", "microk8s")
    assert proc.stdout == 'General refreshes of "microk8s" held until 2026-01-02T00:00:00+00:00\n'
    proc = primary.snap("refresh", "--unhold", "microk8s")
    assert proc.stdout == 'Removed general refresh hold of "microk8s"\n'
    assert "classic\n" in primary.snap("list", "microk8s").stdout
    proc = primary.snap("refresh", "--hold=10x", "microk8s")
    assert proc.returncode == 1 and "hold value must be a number of hours, minutes or seconds" in proc.stderr
    proc = primary.snap("refresh", "--hold")
    assert proc.stdout == "Auto-refresh of all snaps held indefinitely\n"


def test_snap_refresh_channel(primary, api):
    proc = primary.snap("refresh", "microk8s", "--channel=1.33/stable")
    assert (proc.returncode, proc.stderr) == (0, 'snap "microk8s" has no updates available\n')
    assert api.get("Node", "main")["status"]["nodeInfo"]["kubeletVersion"] == "v1.33.5"
    assert primary.snap("refresh", "--hold", "microk8s").returncode == 0
    # a hold stops general and automatic refreshes; a refresh that names the snap goes on, and the hold stays
    proc = primary.snap("refresh", "microk8s", "--channel=1.34/stable")
    assert proc.stdout == "microk8s (1.34/stable) v1.34.1 from Canonical** refreshed\n"
    assert os.readlink(primary.root / "var" / "snap" / "microk8s" / "current") == "8360"
    assert (primary.data / "args" / "kube-apiserver").exists()  # data copied to the new revision
    assert "microk8s  v1.34.1   8360   1.34/stable    canonical**  classic,held" in primary.snap("list").stdout
    # kubelite was stopped and started again: the Node went NotReady and now reports the new kubelet version
    node = api.get("Node", "main")
    assert node["status"]["nodeInfo"]["kubeletVersion"] == node["status"]["nodeInfo"]["kubeProxyVersion"] == "v1.34.1"
    assert [c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready"] == ["Unknown"]
    assert "kaapana.lab/standin-state" not in node["metadata"]["labels"]
    assert primary.microk8s("version").stdout.startswith("MicroK8s v1.34.1 revision 8360\n")


def test_snap_remove(primary):
    proc = primary.snap("remove", "microk8s")
    assert proc.stdout == "microk8s removed (snap data snapshot saved)\n"
    assert not (primary.root / "var" / "snap" / "microk8s").exists()
    assert not os.path.lexists(primary.root / "snap" / "bin" / "microk8s.kubectl")
    proc = primary.snap("remove", "microk8s", "--purge")
    assert (proc.returncode, proc.stderr) == (0, 'snap "microk8s" is not installed\n')


def test_snap_offline_install_with_assertions(node_factory, tmp_path):
    node = node_factory("offline", "10.89.0.20")
    (tmp_path / "microk8s_8205.snap").write_bytes(b"hsqs fake squashfs")
    (tmp_path / "microk8s_8205.assert").write_text(
        "type: snap-declaration\nsnap-id: EaXqgt1lyCaxKaQCU349mlodBkDCXRcg\nsnap-name: microk8s\n\n"
        "type: snap-revision\nsnap-id: EaXqgt1lyCaxKaQCU349mlodBkDCXRcg\nsnap-revision: 8205\n")
    (tmp_path / "core20_2582.snap").write_bytes(b"hsqs")
    (tmp_path / "core20_2582.assert").write_text("type: snap-declaration\nsnap-name: core20\nsnap-revision: 2582\n")
    proc = node.snap("install", "--classic", str(tmp_path / "microk8s_8205.snap"))
    assert (proc.returncode, proc.stderr) == (
        1, 'error: cannot find signatures with metadata for snap/component "%s"\n' % (tmp_path / "microk8s_8205.snap"))
    proc = node.snap("ack", str(tmp_path / "missing.assert"))
    assert proc.stderr == "error: cannot assert: open %s: no such file or directory\n" % (tmp_path / "missing.assert")
    for name in ("core20_2582", "microk8s_8205"):
        assert node.snap("ack", str(tmp_path / (name + ".assert"))).returncode == 0
    assert node.snap("install", str(tmp_path / "core20_2582.snap")).returncode == 0
    proc = node.snap("install", "--classic", str(tmp_path / "microk8s_8205.snap"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "microk8s v1.33.5 from Canonical** installed\n"
    assert node.snap("list").stdout == ("Name      Version   Rev   Tracking  Publisher    Notes\n"
                                        "core20    20250526  2582  -         canonical**  base\n"
                                        "microk8s  v1.33.5   8205  -         canonical**  classic\n")
    assert (node.data / "args" / "kubelet").exists()


def test_snap_proxy_configuration_and_wait(worker):
    assert worker.snap("set", "system", "proxy.http=http://proxy:3128", "proxy.https=http://proxy:3128").returncode == 0
    assert worker.snap("get", "system", "proxy.http").stdout == "http://proxy:3128\n"
    proc = worker.snap("get", "system", "proxy")  # a map, not on a terminal: JSON of {key: map} (cmd_get.go)
    assert proc.stdout == '{\n\t"proxy": {\n\t\t"http": "http://proxy:3128",\n\t\t"https": "http://proxy:3128"\n\t}\n}\n'
    assert proc.stderr.startswith("WARNING: The output of 'snap get' will become a list with columns")
    assert worker.snap("get", "-l", "system", "proxy").stdout == (
        "Key          Value\nproxy.http   http://proxy:3128\nproxy.https  http://proxy:3128\n")
    proc = worker.snap("get", "system", "proxy.ftp")
    assert (proc.returncode, proc.stderr) == (1, 'error: snap "core" has no "proxy.ftp" configuration option\n')
    assert worker.snap("unset", "system", "proxy.http").returncode == 0
    assert worker.snap("get", "system", "proxy.http").returncode == 1
    proc = worker.snap("wait", "system", "seed.loaded")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    # snapd keeps /etc/environment alone on classic systems (its proxy handler is core-only)
    assert not (worker.root / "etc" / "environment").exists()


# ---- microk8s status -------------------------------------------------------------------------------------------
def test_status_pretty_yaml_short(primary):
    proc = primary.microk8s("status")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:7] == [
        "microk8s is running", "high-availability: no", "  datastore master nodes: 127.0.0.1:19001",
        "  datastore standby nodes: none", "addons:", "  enabled:",
        "    dns                  # (core) CoreDNS"]
    assert "    ha-cluster           # (core) Configure high availability on the current node" in lines
    assert "  disabled:" in lines
    assert "    rbac                 # (core) Role-Based Access Control for authorisation" in lines
    proc = primary.microk8s("status", "--format", "yaml")
    assert proc.stdout.startswith(
        "microk8s:\n  running: True\nhigh-availability:\n  enabled: True\n  nodes:\n"
        "    - address: 127.0.0.1:19001\n      role: voter\naddons:\n"
        "  - name: dns\n    repository: core\n    description: CoreDNS\n    version: 1.12.1\n    status: enabled\n")
    assert yaml.safe_load(proc.stdout)["microk8s"]["running"] is True
    proc = primary.microk8s("status", "--format", "short")
    assert proc.stdout.startswith("microk8s is running\naddons:\ncore/dns: enabled\ncore/ha-cluster: enabled\n")
    assert "core/hostpath-storage: disabled\n" in proc.stdout
    assert primary.microk8s("status", "-a", "dns").stdout == "enabled\n"
    assert primary.microk8s("status", "--addon", "rbac").stdout == "disabled\n"
    proc = primary.microk8s("status", "--yaml")
    assert proc.stdout.startswith("microk8s:\n  running: True\naddons:\n  core/dns: enabled\n")


def test_status_not_running_and_wait_ready(primary):
    env = {"FAKE_KUBE_READY_NODE": "0"}
    (primary.root.parent / "api.json").unlink()  # an empty API: no Ready node
    proc = primary.microk8s("status", env=env)
    assert (proc.returncode, proc.stdout) == (1, "microk8s is not running. Use microk8s inspect for a deeper inspection.\n")
    start = time.time()
    proc = primary.microk8s("status", "--wait-ready", "--timeout", "1", "--format", "yaml", env=env)
    assert proc.returncode == 1 and time.time() - start < 10
    assert proc.stdout.endswith("  message: microk8s is not running. Use microk8s inspect for a deeper inspection.\n")


def test_stop_start(primary):
    proc = primary.microk8s("stop")
    assert (proc.returncode, proc.stdout) == (0, "Stopped.\nStopped.\n")
    proc = primary.microk8s("status", "--wait-ready")
    assert (proc.returncode, proc.stdout) == (0, "microk8s is not running, try microk8s start\n")
    proc = primary.microk8s("kubectl", "get", "nodes")
    assert (proc.returncode, proc.stderr) == (1, "microk8s is not running, try microk8s start\n")
    assert "microk8s.daemon-kubelite          enabled   inactive" not in primary.snap("services").stdout
    assert re.search(r"microk8s.daemon-kubelite +disabled +inactive", primary.snap("services").stdout)
    proc = primary.microk8s("start")
    assert (proc.returncode, proc.stdout) == (0, "")
    assert primary.microk8s("status").stdout.startswith("microk8s is running\n")


# ---- add-node / join / leave / remove-node -------------------------------------------------------------------------
def test_add_node_formats(primary, api):
    check = hashlib.sha256(base64.b64decode(base64.b64encode(b"lab-ca" * 10))).hexdigest()[:12]
    proc = primary.microk8s("add-node", "--token", TOKEN, "--format", "token")
    assert proc.stdout == TOKEN + "\n"
    proc = primary.microk8s("add-node", "--token", TOKEN, "--format", "token-check")
    assert proc.stdout == "%s/%s\n" % (TOKEN, check)
    proc = primary.microk8s("add-node", "--token", TOKEN, "--format", "short")
    assert proc.stdout == ("microk8s join 10.89.0.2:25000/%s/%s\nmicrok8s join 10.0.2.15:25000/%s/%s\n"
                           % (TOKEN, check, TOKEN, check))
    proc = primary.microk8s("add-node", "--token", TOKEN)
    url = "10.89.0.2:25000/%s/%s" % (TOKEN, check)
    assert proc.stdout == (
        "From the node you wish to join to this cluster, run the following:\n"
        "microk8s join %s\n\n"
        "Use the '--worker' flag to join a node as a worker not running the control plane, eg:\n"
        "microk8s join %s --worker\n\n"
        "If the node you are adding is not reachable through the default interface you can use one of the following:\n"
        "microk8s join %s\nmicrok8s join 10.0.2.15:25000/%s/%s\n" % (url, url, url, TOKEN, check))
    info = {"token": "%s/%s" % (TOKEN, check), "urls": [url, "10.0.2.15:25000/%s/%s" % (TOKEN, check)]}
    proc = primary.microk8s("add-node", "--token", TOKEN, "--format", "json")
    assert proc.stdout == json.dumps(info, indent=2) + "\n"
    proc = primary.microk8s("add-node", "--token", TOKEN, "--format", "yaml")
    assert proc.stdout == yaml.dump(info, indent=2) + "\n"  # add_token.py: print(yaml.dump(info, indent=2))
    proc = primary.microk8s("add-node", "--token", "short")
    assert (proc.returncode, proc.stdout) == (1, "Invalid token size.  It must be 32 characters long.\n")
    generated = primary.microk8s("add-node", "--format", "token").stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    tokens = (primary.data / "credentials" / "cluster-tokens.txt").read_text().splitlines()
    assert tokens[0] == TOKEN and tokens[-1] == generated
    primary.microk8s("add-node", "--token", "f" * 32, "--token-ttl", "3600")
    assert "%s|%d" % ("f" * 32, int(NOW) + 3600) in (primary.data / "credentials" / "cluster-tokens.txt").read_text()
    secret = api.get("Secret", "microk8s-standin-join-tokens", "kube-system")
    stored = json.loads(base64.b64decode(secret["data"]["tokens.json"]))
    assert stored[0]["token"] == TOKEN and stored[0]["expiry"] is None and stored[-1]["expiry"] == int(NOW) + 3600


def test_join_worker_single_use_token(primary, worker, api):
    primary.microk8s("add-node", "--token", TOKEN)
    check = primary.microk8s("add-node", "--token", "e" * 32, "--format", "token-check").stdout.strip().split("/")[1]
    proc = worker.microk8s("join", "10.89.0.2:25000/%s/%s" % (TOKEN, check), "--worker")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == (
        "Contacting cluster at 10.89.0.2\n\n"
        "The node has joined the cluster and will appear in the nodes list in a few seconds.\n\n"
        "This worker node gets automatically configured with the API server endpoints.\n"
        "If the API servers are behind a loadbalancer please set the '--refresh-interval' to '0s' in:\n"
        "    /var/snap/microk8s/current/args/apiserver-proxy\n"
        "and replace the API server endpoints with the one provided by the loadbalancer in:\n"
        "    /var/snap/microk8s/current/args/traefik/provider.yaml\n\n"
        "Successfully joined the cluster.\n")
    node = api.get("Node", "worker1")
    labels = node["metadata"]["labels"]
    assert labels["node.kubernetes.io/microk8s-worker"] == "microk8s-worker"
    assert labels["kubernetes.io/hostname"] == "worker1" and "node.kubernetes.io/microk8s-controlplane" not in labels
    assert {"type": "InternalIP", "address": "10.89.0.3"} in node["status"]["addresses"]
    assert (worker.data / "var" / "lock" / "clustered.lock").exists()
    assert ('--node-labels=microk8s.io/cluster=true,node.kubernetes.io/microk8s-worker=microk8s-worker\n'
            in (worker.data / "args" / "kubelet").read_text())
    proc = worker.microk8s("status")
    assert proc.stdout == "This MicroK8s deployment is acting as a node in a cluster.\nPlease use the control plane node.\n"
    assert worker.microk8s("kubectl", "get", "nodes").stdout.startswith("This MicroK8s deployment is acting as a node")
    # the token was single-use (ttl -1)
    proc = worker.microk8s("join", "10.89.0.2:25000/%s/%s" % (TOKEN, check), "--worker")
    assert (proc.returncode, proc.stdout) == (6, "Contacting cluster at 10.89.0.2\nConnection failed. Invalid token (500).\n")
    assert "node.kubernetes.io/microk8s-controlplane" in api.get("Node", "main")["metadata"]["labels"]


def test_join_errors(primary, worker):
    proc = worker.microk8s("join", "10.89.0.2/%s" % TOKEN)
    assert (proc.returncode, proc.stdout) == (
        1, "Invalid connection: Expected format: <master_IP>:<master_PORT>/<token>[/<fingerprint>]\n")
    proc = worker.microk8s("join", "10.89.0.2:25000/tooshort")
    assert proc.stdout == "Invalid connection: Cluster token size should be at least 32 bytes\n"
    proc = worker.microk8s("join", "10.89.0.2:25000/%s/abc" % TOKEN)
    assert proc.stdout == "Invalid connection: Fingerprint should be at least 12 bytes\n"
    primary.microk8s("add-node", "--token", TOKEN)
    proc = worker.microk8s("join", "10.89.0.2:25000/%s/000000000000" % TOKEN)
    assert (proc.returncode, proc.stdout) == (4, "Contacting cluster at 10.89.0.2\nJoining cluster failed. Could not "
                                                 "verify the identity of 10.89.0.2. Use '--skip-verify' to skip server "
                                                 "certificate check.\n")
    proc = worker.microk8s("join", "10.89.0.99:25000/%s" % TOKEN)
    assert proc.returncode == 1 and "ConnectionRefusedError: [Errno 111] Connection refused" in proc.stderr


def test_join_ttl_token_and_control_plane(primary, worker, node_factory, api):
    primary.microk8s("add-node", "--token", TOKEN, "--token-ttl", "60")
    proc = worker.microk8s("join", "10.89.0.2:25000/%s" % TOKEN)
    assert proc.stdout == ("Contacting cluster at 10.89.0.2\nWaiting for this node to finish joining the cluster. ..  \n"
                           "Successfully joined the cluster.\n")
    assert api.get("Node", "worker1")["metadata"]["labels"]["node.kubernetes.io/microk8s-controlplane"] == \
        "microk8s-controlplane"
    status = primary.microk8s("status").stdout
    assert "  datastore master nodes: 10.89.0.2:19001 10.89.0.3:19001\n" in status
    proc = worker.microk8s("join", "10.89.0.2:25000/%s" % TOKEN)
    assert (proc.returncode, proc.stdout.splitlines()[-1]) == (6, "Connection failed. Failed to retrieve dqlite "
                                                                  "cluster nodes: the joining node (10.89.0.3) is "
                                                                  "already known to dqlite (500).")
    third = node_factory("node3", "10.89.0.4")
    third.snap("install", "microk8s", "--classic")
    expired = third.microk8s("join", "10.89.0.2:25000/%s" % TOKEN, "--worker",
                             env={"KAAPANA_LAB_STANDIN_NOW": str(NOW + 120)})
    assert expired.stdout.endswith("Connection failed. Invalid token (500).\n")
    assert third.microk8s("join", "10.89.0.2:25000/%s" % TOKEN, "--worker").returncode == 0  # ttl: not single-use
    proc = primary.microk8s("remove-node", "worker1")
    assert proc.returncode == 1 and proc.stdout.startswith("Removal failed. Node worker1 is registered with dqlite.")
    proc = worker.microk8s("leave")
    assert proc.returncode == 0 and proc.stdout.startswith("Generating new cluster certificates.\n")
    assert api.get("Node", "worker1")["metadata"]["labels"]["kaapana.lab/standin-state"] == "left"
    assert primary.microk8s("remove-node", "worker1").returncode == 0
    assert api.get("Node", "worker1") is None
    proc = primary.microk8s("remove-node", "worker1")
    assert (proc.returncode, proc.stdout) == (1, "Node worker1 does not exist in Kubernetes.\n")
    proc = third.microk8s("leave")
    assert proc.stdout.startswith("Configuring services.\nGenerating new cluster certificates.\n")
    assert not (third.data / "var" / "lock" / "clustered.lock").exists()
    proc = third.microk8s("leave")
    assert (proc.returncode, proc.stdout) == (1, "This MicroK8s deployment is not acting as a node in a cluster.\n")


def test_primary_install_registers_node_and_default_dns(primary, api):
    node = api.get("Node", "main")
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "main"
    assert node["metadata"]["labels"]["node.kubernetes.io/microk8s-controlplane"] == "microk8s-controlplane"
    assert node["status"]["addresses"][0] == {"type": "InternalIP", "address": "10.89.0.2"}
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.33.5"
    corefile = api.get("ConfigMap", "coredns", "kube-system")["data"]["Corefile"]
    assert "    forward . /etc/resolv.conf\n" in corefile
    assert api.get("Service", "kube-dns", "kube-system")["spec"]["clusterIP"] == "10.152.183.10"
    assert api.get("Deployment", "coredns", "kube-system")["spec"]["template"]["spec"]["containers"][0]["image"] == \
        "coredns/coredns:1.12.1"


def test_launch_configuration_replaces_default(node_factory, api):
    node = node_factory("custom", "10.89.0.30", primary=True)
    (node.root / "etc" / "microk8s.yaml").write_text(
        "---\nversion: 0.1.0\nextraKubeAPIServerArgs:\n  --service-node-port-range: 80-32000\n"
        "addons:\n  - name: rbac\n")
    assert node.snap("install", "microk8s", "--classic").returncode == 0
    assert "--service-node-port-range=80-32000\n" in (node.data / "args" / "kube-apiserver").read_text()
    assert "--authorization-mode=RBAC,Node\n" in (node.data / "args" / "kube-apiserver").read_text()
    assert "--cluster-dns" not in (node.data / "args" / "kubelet").read_text()
    assert api.get("ConfigMap", "coredns", "kube-system") is None


# ---- enable / disable -------------------------------------------------------------------------------------------------
def test_enable_dns_with_servers(primary, api):
    proc = primary.microk8s("enable", "dns:1.1.1.1,8.8.8.8")
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        0, "Addon core/dns is already enabled\n", "Infer repository core for addon dns\n")
    proc = primary.microk8s("disable", "dns")
    assert proc.returncode == 0 and proc.stdout.startswith("Disabling DNS\n") and proc.stdout.endswith("DNS is disabled\n")
    assert api.get("Deployment", "coredns", "kube-system") is None
    assert "--cluster-dns" not in (primary.data / "args" / "kubelet").read_text()
    proc = primary.microk8s("enable", "dns", "1.1.1.1,8.8.8.8")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("Enabling DNS\nWill use  1.1.1.1 8.8.8.8 as upstream nameservers\nApplying manifest\n")
    assert proc.stdout.endswith("CoreDNS service deployed with IP address 10.152.183.10\nRestarting kubelet\nDNS is enabled\n")
    assert "    forward .  1.1.1.1 8.8.8.8\n" in api.get("ConfigMap", "coredns", "kube-system")["data"]["Corefile"]
    primary.microk8s("disable", "dns")
    proc = primary.microk8s("enable", "dns:not-an-ip")
    assert (proc.returncode, proc.stdout.splitlines()[-1]) == (
        1, "Your input value (not-an-ip) is not a valid and reachable IP address")


def test_enable_unknown_addon(primary):
    proc = primary.microk8s("enable", "foo")
    assert (proc.returncode, proc.stdout, proc.stderr) == (1, "", "Addon foo was not found in any repository\n")
    proc = primary.microk8s("enable", "istio")
    assert proc.returncode == 1
    assert proc.stdout == "To use the community maintained flavor enable the respective repository:\n\n    microk8s enable community\n\n"


def test_enable_rbac_and_hostpath_storage(primary, api):
    proc = primary.microk8s("enable", "rbac")
    assert proc.stdout == "Enabling RBAC\nReconfiguring apiserver\nRestarting apiserver\nRBAC is enabled\n"
    assert "--authorization-mode=RBAC,Node\n" in (primary.data / "args" / "kube-apiserver").read_text()
    assert primary.microk8s("enable", "rbac").stdout == "Addon core/rbac is already enabled\n"
    proc = primary.microk8s("enable", "hostpath-storage")
    assert proc.stdout.startswith(
        "Enabling default storage class.\nWARNING: Hostpath storage is not suitable for production environments.\n"
        "         A hostpath volume can grow beyond the size limit set in the volume claim manifest.\n\n")
    assert proc.stdout.endswith("Storage will be available soon.\n")
    sc = api.get("StorageClass", "microk8s-hostpath")
    assert sc["provisioner"] == "microk8s.io/hostpath" and sc["volumeBindingMode"] == "WaitForFirstConsumer"
    assert sc["reclaimPolicy"] == "Delete"
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert api.get("Deployment", "hostpath-provisioner", "kube-system")
    assert "core/hostpath-storage: enabled" in primary.microk8s("status", "--format", "short").stdout
    proc = primary.microk8s("disable", "hostpath-storage", stdin="n\n")
    assert proc.returncode == 1 and "Storage removed." in proc.stdout
    assert primary.microk8s("enable", "hostpath-storage", "--reclaim-policy", "Retain").returncode == 0
    assert api.get("StorageClass", "microk8s-hostpath")["reclaimPolicy"] == "Retain"
    proc = primary.microk8s("disable", "hostpath-storage:destroy-storage")
    assert proc.stdout.endswith("Storage removed.\nStorage space reclaimed.\n")


def test_enable_nvidia_installs_gpu_operator_chart(primary, api):
    charts = primary.root / "etc" / "kaapana-lab" / "charts"
    charts.mkdir()
    (charts / "gpu-operator-v25.10.0.tgz").write_bytes(b"chart")
    proc = primary.microk8s("enable", "nvidia", "--gpu-operator-driver", "host", "--gpu-operator-version", "v25.10.0",
                            "--gpu-operator-set", "toolkit.env[0].name=CONTAINERD_CONFIG",
                            "--gpu-operator-set", "toolkit.env[0].value=/x")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("Addon core/dns is already enabled\nAddon core/helm3 is already enabled\n")
    assert "Deploy NVIDIA GPU operator\nUsing host GPU driver\n" in proc.stdout
    assert proc.stdout.endswith("Deployed NVIDIA GPU operator\n")
    call = [line for line in api.helm_log.read_text().splitlines() if " install " in line][-1].split()
    assert call[1:4] == ["install", "gpu-operator", str(charts / "gpu-operator-v25.10.0.tgz")]
    assert "--version=v25.10.0" in call and "--namespace=gpu-operator-resources" in call and "--create-namespace" in call
    assert "toolkit.env[0].name=CONTAINERD_CONFIG" in call
    values = json.loads((api.helm_log.parent / "helm.stdin").read_text())
    assert values["driver"]["enabled"] == "false" and values["operator"]["defaultRuntime"] == "containerd"


def test_enable_nvidia_ignores_a_failed_helm_install_as_the_real_addon_does(primary, api):
    """No chart of the requested version in the stand-in repository: helm's error, exit 0, nothing installed."""
    charts = primary.root / "etc" / "kaapana-lab" / "charts"
    charts.mkdir()
    (charts / "gpu-operator-v25.10.0.tgz").write_bytes(b"chart")
    proc = primary.microk8s("enable", "gpu", "--gpu-operator-driver=host", "--gpu-operator-version", "v25.3.0")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no chart version found for gpu-operator-v25.3.0" in proc.stderr
    assert proc.stdout.endswith("Deployed NVIDIA GPU operator\n")
    calls = api.helm_log.read_text().splitlines() if api.helm_log.exists() else []
    assert not [line for line in calls if " install " in line], calls
    assert api.get("Deployment", "nvidia-operator-validator", "gpu-operator-resources") is None
    assert "core/nvidia: disabled" in primary.microk8s("status", "--format", "short").stdout


def test_gpu_nodes_are_labelled(node_factory, api):
    node = node_factory("gpu-main", "10.89.0.40", primary=True, gpus=2)
    # the stand-in repository has the addon's default version (labels come with a real operator install only)
    charts = node.root / "etc" / "kaapana-lab" / "charts"
    charts.mkdir(parents=True, exist_ok=True)
    (charts / "gpu-operator-v25.3.0.tgz").write_bytes(b"chart")
    assert node.snap("install", "microk8s", "--classic").returncode == 0
    assert node.microk8s("enable", "nvidia").returncode == 0
    labels = api.get("Node", "gpu-main")["metadata"]["labels"]
    assert labels["nvidia.com/gpu.present"] == "true" and labels["nvidia.com/gpu.count"] == "2"
    assert api.get("Node", "gpu-main")["status"]["capacity"]["nvidia.com/gpu"] == "2"


# ---- config, kubectl, helm, ctr, inspect --------------------------------------------------------------------------------
def test_config_embeds_lab_certificates(primary):
    config = yaml.safe_load(primary.microk8s("config").stdout)
    cluster = config["clusters"][0]["cluster"]
    assert cluster["server"] == "https://10.89.0.1:6443"
    assert base64.b64decode(cluster["certificate-authority-data"]).decode() == CA_PEM
    user = config["users"][0]
    assert user["name"] == "admin" and base64.b64decode(user["user"]["client-key-data"]) == b"ADMIN KEY\n"
    assert config["current-context"] == "microk8s" and config["clusters"][0]["name"] == "microk8s-cluster"


def test_kubectl_and_helm_pass_through(primary, tmp_path):
    echo = tmp_path / "echo-tool"
    echo.write_text('#!/bin/sh\necho "KUBECONFIG=$KUBECONFIG"\necho "$@"\n')
    echo.chmod(0o755)
    proc = primary.microk8s("kubectl", "get", "pods", "-A", env={"KAAPANA_LAB_STANDIN_KUBECTL": str(echo)})
    assert proc.stdout == "KUBECONFIG=%s\nget pods -A\n" % (primary.data / "credentials" / "client.config")
    proc = run(str(primary.root / "snap" / "bin" / "microk8s.helm3"), "ls", "-A",
               env=dict(primary.env, KAAPANA_LAB_STANDIN_HELM=str(echo)))
    assert proc.stdout.splitlines()[1] == "--kubeconfig=%s ls -A" % (primary.data / "credentials" / "client.config")


def test_ctr_images_import_and_ls(primary, tmp_path):
    archive = tmp_path / "images.tar"
    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    manifest = json.dumps([{"Config": "cfg.json", "RepoTags": ["busybox:1.36", "registry.k8s.io/pause:3.10"],
                            "Layers": ["layer.tar"]}]).encode()
    with tarfile.open(archive, "w") as tar:
        for name, data in (("manifest.json", manifest), ("cfg.json", config), ("layer.tar", b"x" * 2048)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    proc = primary.microk8s("ctr", "images", "import", str(archive))
    digest = "sha256:" + hashlib.sha256(json.dumps(json.loads(manifest)[0], sort_keys=True).encode()).hexdigest()
    assert proc.stdout == ("unpacking docker.io/library/busybox:1.36 (%s)...done\n"
                           "unpacking registry.k8s.io/pause:3.10 (%s)...done\n" % (digest, digest))
    listing = primary.microk8s("ctr", "images", "ls").stdout.splitlines()
    assert re.fullmatch(r"REF +TYPE +DIGEST +SIZE +PLATFORMS +LABELS +", listing[0])
    assert listing[1].split() == ["docker.io/library/busybox:1.36", "application/vnd.docker.distribution.manifest.v2+json",
                                  digest, "2.0", "KiB", "linux/amd64", "io.cri-containerd.image=managed"]
    assert primary.microk8s("ctr", "image", "ls", "-q").stdout == "docker.io/library/busybox:1.36\nregistry.k8s.io/pause:3.10\n"


def test_ctr_records_kubelet_pulls_with_their_refs_and_the_sandbox_image(primary):
    # STAND-IN of the kubelet's pulls (hidden `ctr images kaapana-lab-pull`, run by the kube-helm stand-in): the tag
    # ref, the repo digest ref and the image ID, one digest; the sandbox image from the containerd template.
    proc = primary.microk8s("ctr", "images", "kaapana-lab-pull", "--sandbox", "busybox:1.36",
                            "quay.io/x/y@sha256:" + "a" * 64)
    assert proc.returncode == 0, proc.stderr
    digest = "sha256:" + hashlib.sha256(b"docker.io/library/busybox:1.36").hexdigest()
    image_id = "sha256:" + hashlib.sha256(("config:" + digest).encode()).hexdigest()
    images = json.loads((primary.root / "var/snap/microk8s/common/var/lib/containerd/"
                         "kaapana-lab-standin-images.json").read_text())
    assert {n: i["digest"] for n, i in images.items() if i["digest"] == digest} == {
        "docker.io/library/busybox:1.36": digest, "docker.io/library/busybox@" + digest: digest, image_id: digest}
    assert images["quay.io/x/y@sha256:" + "a" * 64]["digest"] == "sha256:" + "a" * 64
    assert "registry.k8s.io/pause:3.10" in images
    size = images["docker.io/library/busybox:1.36"]["size"]
    assert size % (1024 * 1024) == 0 and 5 <= size // (1024 * 1024) <= 300
    # refs already there are kept as they are (an imported image is not replaced by a pull record)
    before = dict(images)
    again = primary.microk8s("ctr", "images", "kaapana-lab-pull", "--sandbox", "docker.io/library/busybox:1.36")
    assert again.returncode == 0 and again.stdout == ""
    assert json.loads((primary.root / "var/snap/microk8s/common/var/lib/containerd/"
                       "kaapana-lab-standin-images.json").read_text()) == before
    listing = primary.microk8s("ctr", "images", "ls").stdout.splitlines()
    row = [line.split() for line in listing if line.startswith("docker.io/library/busybox:1.36 ")][0]
    assert row[1:3] == ["application/vnd.oci.image.index.v1+json", digest]
    assert primary.microk8s("ctr", "images", "rm", image_id).stdout == image_id + "\n"


def test_inspect_and_help(primary):
    proc = primary.microk8s("inspect")
    assert proc.stdout.startswith("Inspecting system\nInspecting Certificates\nInspecting services\n"
                                  "  Service snap.microk8s.daemon-cluster-agent is running\n")
    match = re.search(r"  Report tarball is at /var/snap/microk8s/8205/(inspection-report-\d{8}_\d{6}\.tar\.gz)\n$",
                      proc.stdout)
    assert match and (primary.data / match.group(1)).exists()
    proc = primary.microk8s("nosuch")
    assert proc.returncode == 1 and proc.stdout.startswith("'nosuch' is not a valid MicroK8s subcommand.\n"
                                                           "Available subcommands are:\n\tadd-node\n")
    assert "kaapana lab stand-in" in primary.microk8s("help").stdout


# ---- MicroK8s' certificates and refresh-certs (refresh_certs.py, actions/common/utils.sh) ---------------------------
STANDIN_CA_NAME = "CN=kaapana-lab-standin-ca"
SERVER_SUBJECT = "CN=127.0.0.1,OU=Canonical,O=Canonical,L=Canonical,ST=Canonical,C=GB"
SERVER_DNS = ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster",
              "kubernetes.default.svc.cluster.local"]
BACKUP_LINE = "Taking a backup of the current certificates under /var/snap/microk8s/8205/certs-backup/\n"
NO_ROOT = "Elevated permissions is needed for this operation. Please run this command with sudo.\n"
CLICK_USAGE = "Usage: refresh_certs.py [OPTIONS] [CA_DIR]\n\nError: "


@pytest.fixture(scope="session")
def lab_ca_pem():
    """A real lab CA certificate (the node_factory's CA_PEM is only PEM armour, which openssl cannot read)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kaapana-lab-ca")])
    start = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def install_certs_node(node_factory, lab_ca_pem, genrsa=False):
    """A primary node with a real lab CA; genrsa: its keys made by `openssl genrsa`, as on a lab node."""
    node = node_factory("certs-main", "10.89.0.20 10.0.2.15", primary=True)
    (node.root / "etc" / "kaapana-lab" / "ca.crt").write_bytes(lab_ca_pem)
    if genrsa:
        node.env["KAAPANA_LAB_STANDIN_RSA_KEYS"] = ""
    proc = node.snap("install", "microk8s", "--classic", "--channel=1.33/stable")
    assert proc.returncode == 0, proc.stderr
    node.certs = node.data / "certs"
    return node


@pytest.fixture
def certs_node(node_factory, lab_ca_pem):
    return install_certs_node(node_factory, lab_ca_pem)


def cert_of(path):
    return x509.load_pem_x509_certificate(path.read_bytes())


def public_der(key):
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_of(path):
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def days_left(cert, at=NOW):
    """refresh_certs.py: (notAfter - now).days."""
    return (cert.not_valid_after_utc - datetime.datetime.fromtimestamp(at, datetime.timezone.utc)).days


def test_install_produces_microk8s_certificates(node_factory, lab_ca_pem):
    certs_node = install_certs_node(node_factory, lab_ca_pem, genrsa=True)
    certs = certs_node.certs
    names = {p.name for p in certs.iterdir()}
    assert {"ca.crt", "server.key", "server.crt", "front-proxy-ca.key", "front-proxy-ca.crt", "front-proxy-client.key",
            "front-proxy-client.crt", "kaapana-lab-standin-ca.key", "kaapana-lab-standin-ca.crt", "csr.conf.template",
            "csr.conf"} <= names
    assert "ca.key" not in names  # the lab CA's key never reaches a node
    assert (certs / "ca.crt").read_bytes() == lab_ca_pem
    # the install hook's chmod -R ug+rwX,o-rwX
    assert (certs.stat().st_mode & 0o777) == 0o770
    assert {oct(p.stat().st_mode & 0o777) for p in certs.iterdir()} == {"0o660"}
    assert "IP.2 = 10.152.183.1\nIP.3 = 10.89.0.20\nIP.4 = 10.0.2.15\n\n[ v3_ext ]" in (certs / "csr.conf").read_text()

    standin_ca, server = cert_of(certs / "kaapana-lab-standin-ca.crt"), cert_of(certs / "server.crt")
    assert standin_ca.subject.rfc4514_string() == STANDIN_CA_NAME
    assert standin_ca.not_valid_after_utc - standin_ca.not_valid_before_utc == datetime.timedelta(days=3650)
    assert server.subject.rfc4514_string() == SERVER_SUBJECT
    assert server.issuer == standin_ca.subject
    server.verify_directly_issued_by(standin_ca)
    assert server.not_valid_after_utc - server.not_valid_before_utc == datetime.timedelta(days=365)
    assert public_der(server.public_key()) == public_der(key_of(certs / "server.key").public_key())
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == SERVER_DNS
    ips = [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)]
    assert ips == ["127.0.0.1", "10.152.183.1", "10.89.0.20", "10.0.2.15"]
    usages = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    assert server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False

    proxy_ca, proxy_client = cert_of(certs / "front-proxy-ca.crt"), cert_of(certs / "front-proxy-client.crt")
    assert proxy_ca.subject.rfc4514_string() == proxy_ca.issuer.rfc4514_string() == "CN=front-proxy-ca"
    assert proxy_ca.not_valid_after_utc - proxy_ca.not_valid_before_utc == datetime.timedelta(days=3650)
    assert proxy_client.subject.rfc4514_string() == "CN=front-proxy-client"
    proxy_client.verify_directly_issued_by(proxy_ca)
    assert proxy_client.not_valid_after_utc - proxy_client.not_valid_before_utc == datetime.timedelta(days=365)
    assert public_der(proxy_client.public_key()) == public_der(key_of(certs / "front-proxy-client.key").public_key())


def test_refresh_certs_check_prints_the_days_left(certs_node):
    certs = certs_node.certs
    ca, server, proxy = (cert_of(certs / name) for name in ("ca.crt", "server.crt", "front-proxy-client.crt"))
    proc = certs_node.microk8s("refresh-certs", "-c")
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == ("The CA certificate will expire in %d days.\n"
                           "The server certificate will expire in %d days.\n"
                           "The front proxy client certificate will expire in %d days.\n"
                           % (days_left(ca), days_left(server), days_left(proxy)))
    # on the real clock, right after the install: a certificate of 365 days has 364 whole days left, as on MicroK8s
    at = time.time()
    proc = certs_node.microk8s("refresh-certs", "--check", env={"KAAPANA_LAB_STANDIN_NOW": str(at)})
    assert proc.stdout.splitlines()[1:] == ["The server certificate will expire in 364 days.",
                                            "The front proxy client certificate will expire in 364 days."]
    assert proc.stdout.splitlines()[0] == "The CA certificate will expire in %d days." % days_left(ca, at)


def test_refresh_certs_check_fails_as_upstream_on_an_unreadable_certificate(certs_node, primary):
    (certs_node.certs / "server.crt").unlink()
    proc = certs_node.microk8s("refresh-certs", "-c")
    assert proc.returncode == 4
    assert proc.stdout.splitlines() == [
        "The CA certificate will expire in %d days." % days_left(cert_of(certs_node.certs / "ca.crt")),
        "Failed to get certificate info. Command '['/snap/microk8s/8205/openssl.wrapper', 'x509', '-enddate', "
        "'-noout', '-in', '/var/snap/microk8s/8205/certs/server.crt']' returned non-zero exit status 1."]
    # the primary fixture's lab CA is no certificate openssl can read: the first line fails
    proc = primary.microk8s("refresh-certs", "-c")
    assert (proc.returncode, proc.stdout) == (4, "Failed to get certificate info. Command '['/snap/microk8s/8205/"
                                                 "openssl.wrapper', 'x509', '-enddate', '-noout', '-in', '/var/snap/"
                                                 "microk8s/8205/certs/ca.crt']' returned non-zero exit status 1.\n")


def test_refresh_certs_server_crt(certs_node, api):
    certs = certs_node.certs
    before = {name: (certs / name).read_bytes() for name in ("ca.crt", "server.crt", "server.key",
                                                             "front-proxy-client.crt")}
    old = cert_of(certs / "server.crt")
    proc = certs_node.microk8s("refresh-certs", "-e", "server.crt")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (BACKUP_LINE + "Creating new certificates\n"
                           "Restarting service kubelite.\nRestarting service cluster-agent.\n")
    new = cert_of(certs / "server.crt")
    assert new.serial_number != old.serial_number
    assert new.fingerprint(hashes.SHA256()) != old.fingerprint(hashes.SHA256())
    assert new.not_valid_after_utc >= old.not_valid_after_utc
    assert new.not_valid_after_utc - new.not_valid_before_utc == datetime.timedelta(days=365)
    assert new.subject.rfc4514_string() == SERVER_SUBJECT and new.issuer.rfc4514_string() == STANDIN_CA_NAME
    # gen_server_cert keeps server.key; ca.crt and the other certificate stay as they were
    for name in ("ca.crt", "server.key", "front-proxy-client.crt"):
        assert (certs / name).read_bytes() == before[name], name
    backup = certs_node.data / "certs-backup"
    assert (backup / "certs" / "server.crt").read_bytes() == before["server.crt"]
    assert (backup / "certs" / "ca.crt").read_bytes() == before["ca.crt"]
    assert (backup / "credentials" / "client.config").exists()
    # kubelite restarted: the Node was posted NotReady (Ready=Unknown) and the restart's services-started hook
    # removed the state label again, so KWOK turns it Ready
    node = api.get("Node", "certs-main")
    assert "kaapana.lab/standin-state" not in node["metadata"]["labels"]
    ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
    assert ready and ready[0]["status"] == "Unknown"
    assert re.search(r"microk8s.daemon-kubelite +enabled +active", certs_node.snap("services").stdout)
    assert certs_node.microk8s("status").stdout.startswith("microk8s is running\n")


def test_refresh_certs_front_proxy_client_crt(certs_node):
    certs = certs_node.certs
    server, key = (certs / "server.crt").read_bytes(), (certs / "front-proxy-client.key").read_bytes()
    old = cert_of(certs / "front-proxy-client.crt")
    proc = certs_node.microk8s("refresh-certs", "--cert", "front-proxy-client.crt")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == BACKUP_LINE + "Creating new certificates\nRestarting service kubelite.\n"
    new = cert_of(certs / "front-proxy-client.crt")
    assert new.serial_number != old.serial_number and new.not_valid_after_utc >= old.not_valid_after_utc
    assert new.subject.rfc4514_string() == "CN=front-proxy-client"
    new.verify_directly_issued_by(cert_of(certs / "front-proxy-ca.crt"))
    assert (certs / "front-proxy-client.key").read_bytes() == key and (certs / "server.crt").read_bytes() == server


def test_refresh_certs_undo_restores_the_backup(certs_node):
    proc = certs_node.microk8s("refresh-certs", "-u")
    assert (proc.returncode, proc.stdout) == (1, "No previous backup found\n")
    original = (certs_node.certs / "server.crt").read_bytes()
    assert certs_node.microk8s("refresh-certs", "-e", "server.crt").returncode == 0
    assert (certs_node.certs / "server.crt").read_bytes() != original
    proc = certs_node.microk8s("refresh-certs", "--undo")
    assert (proc.returncode, proc.stdout) == (0, "Restarting, please wait.\nStopped.\nStopped.\n")
    assert (certs_node.certs / "server.crt").read_bytes() == original
    assert certs_node.microk8s("status").stdout.startswith("microk8s is running\n")


def test_refresh_certs_errors_as_upstream(primary, tmp_path):
    def refresh(*args, **env):
        return primary.microk8s("refresh-certs", *args, env=env)

    ca_dir = tmp_path / "my-ca"
    ca_dir.mkdir()
    proc = refresh("-c", KAAPANA_LAB_STANDIN_EUID="1000")
    assert (proc.returncode, proc.stdout) == (50, NO_ROOT)
    # option conflicts are found before the root check
    proc = refresh("-c", "-u", KAAPANA_LAB_STANDIN_EUID="1000")
    assert (proc.returncode, proc.stdout) == (2, "Please select only one of the options -c, -u or -e.\n")
    assert refresh("-c", "-e", "server.crt").returncode == 2
    proc = refresh("-c", str(ca_dir))
    assert (proc.returncode, proc.stdout) == (1, "Please do not set any options in combination with the CA_DIR.\n")
    proc = refresh()
    assert proc.returncode == 3
    assert proc.stdout == ("Please use the '--cert' flag to select the certificate you need refreshed.\n\n"
                           "Available certificate options:\n"
                           "'server.crt': refreshes the server certificate\n"
                           "'front-proxy-client.crt': refreshes the front proxy client certificate\n"
                           "'ca.crt': refreshes the root CA and all certificates created from it.\n"
                           "            Warning: refreshing the root CA requires nodes to leave and re-join the "
                           "cluster\n")
    # replacing the CA: not on the lab's nodes, and nothing is touched
    for args in (("-e", "ca.crt"), (str(ca_dir),)):
        proc = refresh(*args)
        assert proc.returncode == 1 and proc.stdout == ""
        assert proc.stderr.startswith("kaapana lab stand-in: `microk8s refresh-certs` does not implement replacing "
                                      "the CA"), proc.stderr
    assert not (primary.data / "certs-backup").exists()
    # click 7.0's usage errors (stderr, exit 2)
    proc = refresh("-e", "key.pem")
    assert proc.returncode == 2
    assert proc.stderr == CLICK_USAGE + ('Invalid value for "-e" / "--cert": invalid choice: key.pem. '
                                         '(choose from ca.crt, server.crt, front-proxy-client.crt)\n')
    proc = refresh(str(tmp_path / "missing"))
    assert proc.returncode == 2
    assert proc.stderr == CLICK_USAGE + 'Invalid value for "[CA_DIR]": Path "%s" does not exist.\n' % (tmp_path / "missing")
    assert refresh("-e").stderr == CLICK_USAGE + "-e option requires an argument\n"
    assert refresh("--c").stderr == CLICK_USAGE + "no such option: --c  (Possible options: --cert, --check)\n"
    proc = refresh("-h")
    assert proc.returncode == 0 and proc.stdout.startswith("Usage: microk8s refresh-certs [OPTIONS] [CA_DIR]\n")


def test_refresh_certs_makes_the_certificates_an_older_install_lacks(primary):
    """Nodes installed before the stand-in kept MicroK8s' certificates have only certs/ca.crt."""
    certs = primary.data / "certs"
    for path in certs.iterdir():
        if path.name != "ca.crt":
            path.unlink()
    proc = primary.microk8s("refresh-certs", "-e", "front-proxy-client.crt")
    assert proc.returncode == 0, proc.stderr
    assert (primary.data / "certs-backup" / "certs" / "server.crt").exists()
    cert_of(certs / "front-proxy-client.crt").verify_directly_issued_by(cert_of(certs / "front-proxy-ca.crt"))
    cert_of(certs / "server.crt").verify_directly_issued_by(cert_of(certs / "kaapana-lab-standin-ca.crt"))


# ---- provisioner ----------------------------------------------------------------------------------------------------------
def _fake_client_objects():
    from kubernetes import client
    sc_hostpath = client.V1StorageClass(metadata=client.V1ObjectMeta(name="kaapana-hostpath-fast"),
                                        provisioner="microk8s.io/hostpath", reclaim_policy="Delete",
                                        volume_binding_mode="WaitForFirstConsumer", parameters={"pvDir": "/data/fast"})
    sc_longhorn = client.V1StorageClass(
        metadata=client.V1ObjectMeta(name="longhorn"), provisioner="driver.longhorn.io", reclaim_policy="Retain",
        volume_binding_mode="Immediate", parameters={"numberOfReplicas": "1", "fsType": "ext4"},
        allowed_topologies=[client.V1TopologySelectorTerm(match_label_expressions=[
            client.V1TopologySelectorLabelRequirement(key="kaapana.io/node", values=["storage"])])])

    def pvc(name, cls, annotations=None):
        return client.V1PersistentVolumeClaim(
            metadata=client.V1ObjectMeta(name=name, namespace="services", uid="uid-" + name, resource_version="7",
                                         annotations=annotations or {}),
            spec=client.V1PersistentVolumeClaimSpec(access_modes=["ReadWriteOnce"], storage_class_name=cls,
                                                    resources=client.V1VolumeResourceRequirements(requests={"storage": "5Gi"})),
            status=client.V1PersistentVolumeClaimStatus(phase="Pending"))
    return client, sc_hostpath, sc_longhorn, pvc


def test_provisioner_builds_volumes_like_the_real_provisioners():
    provisioner = load(os.path.join(STANDINS, "provisioner.py"), "provisioner_standin")
    client, sc_hostpath, sc_longhorn, pvc = _fake_client_objects()

    class Core:
        def __init__(self):
            self.created = []

        def create_persistent_volume(self, body):
            self.created.append(body)
            return body

        def create_namespaced_event(self, namespace, body):
            return body

        def list_namespaced_pod(self, *args, **kwargs):
            return client.V1PodList(items=[])

        def list_node(self, *args, **kwargs):
            return client.V1NodeList(items=[])

    prov = provisioner.Provisioner.__new__(provisioner.Provisioner)
    prov.core, prov.identity = Core(), "1-test"
    classes = {"kaapana-hostpath-fast": sc_hostpath, "longhorn": sc_longhorn}
    # WaitForFirstConsumer: nothing before the scheduler picked a node
    assert prov.provision(pvc("data", "kaapana-hostpath-fast"), classes, {}) is None
    pv = prov.provision(pvc("data", "kaapana-hostpath-fast", {provisioner.SELECTED_NODE: "main"}), classes, {})
    assert pv.metadata.name == "pvc-uid-data"
    assert pv.metadata.annotations[provisioner.PROVISIONED_BY] == "microk8s.io/hostpath"
    assert pv.spec.host_path.path == "/data/fast/services-data-pvc-uid-data"
    assert pv.spec.host_path.type == "DirectoryOrCreate"
    assert pv.spec.persistent_volume_reclaim_policy == "Delete" and pv.spec.capacity == {"storage": "5Gi"}
    term = pv.spec.node_affinity.required.node_selector_terms[0].match_expressions[0]
    assert (term.key, term.operator, term.values) == ("kubernetes.io/hostname", "In", ["main"])
    assert (pv.spec.claim_ref.name, pv.spec.claim_ref.namespace, pv.spec.claim_ref.uid) == ("data", "services", "uid-data")
    # Immediate Longhorn class: provisioned at once, CSI source, allowedTopologies become node affinity
    pv = prov.provision(pvc("db", "longhorn"), classes, {})
    assert pv.spec.csi.driver == "driver.longhorn.io" and pv.spec.csi.volume_handle == "pvc-uid-db"
    assert pv.spec.csi.fs_type == "ext4" and pv.spec.csi.volume_attributes["numberOfReplicas"] == "1"
    assert pv.spec.persistent_volume_reclaim_policy == "Retain"
    term = pv.spec.node_affinity.required.node_selector_terms[0].match_expressions[0]
    assert (term.key, term.values) == ("kaapana.io/node", ["storage"])
    # already provisioned / other provisioners / bound claims are left alone
    assert prov.provision(pvc("db", "longhorn"), classes, {"pvc-uid-db": pv}) is None
    assert prov.provision(pvc("x", "standard"), classes, {}) is None
    assert len(prov.core.created) == 2


def test_provisioner_serves_longhorn_classes_only_while_longhorn_is_installed():
    provisioner = load(os.path.join(STANDINS, "provisioner.py"), "provisioner_standin3")
    client, sc_hostpath, sc_longhorn, _pvc = _fake_client_objects()
    other = client.V1StorageClass(metadata=client.V1ObjectMeta(name="nfs"), provisioner="nfs.csi.k8s.io")
    classes = [sc_hostpath, sc_longhorn, other]
    assert sorted(provisioner.provisionable_classes(classes, set())) == ["kaapana-hostpath-fast"]
    assert sorted(provisioner.provisionable_classes(classes, {"driver.longhorn.io", "nfs.csi.k8s.io"})) == [
        "kaapana-hostpath-fast", "longhorn"]


def test_provisioner_reclaims_only_released_delete_volumes():
    provisioner = load(os.path.join(STANDINS, "provisioner.py"), "provisioner_standin2")
    client = _fake_client_objects()[0]
    deleted = []

    class Core:
        def delete_persistent_volume(self, name):
            deleted.append(name)

    prov = provisioner.Provisioner.__new__(provisioner.Provisioner)
    prov.core = Core()

    def pv(name, policy, phase, by="microk8s.io/hostpath"):
        return client.V1PersistentVolume(
            metadata=client.V1ObjectMeta(name=name, annotations={provisioner.PROVISIONED_BY: by}),
            spec=client.V1PersistentVolumeSpec(persistent_volume_reclaim_policy=policy),
            status=client.V1PersistentVolumeStatus(phase=phase))
    for volume in (pv("a", "Delete", "Released"), pv("b", "Retain", "Released"), pv("c", "Delete", "Bound"),
                   pv("d", "Delete", "Released", by="other.io/provisioner"),
                   pv("e", "Delete", "Released", by="driver.longhorn.io")):
        prov.reclaim(volume)
    assert deleted == ["a", "e"]


def test_provisioner_stops_on_sigterm(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "x",
        "clusters": [{"name": "x", "cluster": {"server": "https://127.0.0.1:9"}}],
        "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}],
        "users": [{"name": "x", "user": {"token": "t"}}]}))
    proc = subprocess.Popen([sys.executable, os.path.join(STANDINS, "provisioner.py"), "--kubeconfig", str(kubeconfig),
                             "--interval", "0.2"], stderr=subprocess.PIPE, text=True)
    # Its signal handlers are in place once it logs "started" (importing the kubernetes client can take seconds
    # on a busy machine; a fixed sleep sent SIGTERM before them).
    first = ""
    deadline = time.time() + 60
    while "started" not in first and time.time() < deadline:
        first += proc.stderr.readline()
    time.sleep(0.5)
    proc.terminate()
    _out, err = proc.communicate(timeout=20)
    err = first + err
    assert proc.returncode == 0, err
    assert "signal 15: stopping" in err and err.rstrip().endswith("stopped")


def test_simulated_clusters_sharing_the_lab_api_stay_apart(primary, worker, node_factory, api):
    """Molecule scenarios run side by side on one lab API: each primary forms its own cluster and a
    (re)install or removal only clears objects labelled with its own cluster id."""
    primary.microk8s("add-node", "--token", TOKEN)
    assert worker.microk8s("join", "10.89.0.2:25000/%s" % TOKEN, "--worker").returncode == 0
    other = node_factory("other-main", "10.89.0.50", primary=True)
    assert other.snap("install", "microk8s", "--classic").returncode == 0
    assert api.get("Node", "main") and api.get("Node", "worker1") and api.get("Node", "other-main")
    assert api.get("Node", "worker1")["metadata"]["labels"]["kaapana.lab/standin-cluster"] == "main"
    # a token of one cluster does not open the other
    other.microk8s("add-node", "--token", "a" * 32)
    stranger = node_factory("stranger", "10.89.0.51")
    stranger.snap("install", "microk8s", "--classic")
    proc = stranger.microk8s("join", "10.89.0.2:25000/%s" % ("a" * 32))
    assert proc.stdout.endswith("Connection failed. Invalid token (500).\n")
    assert primary.snap("remove", "microk8s", "--purge").returncode == 0
    assert api.get("Node", "main") is None and api.get("Node", "worker1") is None
    assert api.get("Node", "other-main") is not None
    clusters = json.loads(json.dumps(api.get("ConfigMap", "microk8s-standin-cluster", "kube-system")["data"]))
    assert list(clusters) == ["other-main.json"]


def test_add_node_on_an_unmarked_node_seeds_a_cluster(worker, node_factory, api):
    """Without KAAPANA_LAB_PRIMARY the install registers nothing; asking such a node for a join
    token makes it the seed of its own cluster, as any MicroK8s install is."""
    assert api.get("Node", "worker1") is None
    worker.microk8s("add-node", "--token", TOKEN)
    assert api.get("Node", "worker1")["metadata"]["labels"]["kaapana.lab/standin-cluster"] == "worker1"
    joiner = node_factory("joiner", "10.89.0.60")
    joiner.snap("install", "microk8s", "--classic")
    assert joiner.microk8s("join", "10.89.0.3:25000/%s" % TOKEN, "--worker").returncode == 0
    assert api.get("Node", "joiner")["metadata"]["labels"]["kaapana.lab/standin-cluster"] == "worker1"


def test_snap_helm_channel_picks_the_helm_major(node_factory, tmp_path):
    """latest/* and 4/* are Helm 4, 3/* Helm 3 (as the real store); /snap/bin/helm follows a refresh across majors."""
    helm3, helm4 = tmp_path / "helm3-binary", tmp_path / "helm4-binary"
    for path in (helm3, helm4):
        path.write_text("#!/bin/sh\n")
    node = node_factory("main", "10.89.0.2", primary=True)
    env = {"KAAPANA_LAB_STANDIN_HELM": str(helm3), "KAAPANA_LAB_STANDIN_HELM4": str(helm4)}
    link = node.root / "snap" / "bin" / "helm"
    proc = node.snap("install", "helm", "--classic", env=env)
    assert proc.returncode == 0, proc.stderr
    assert os.path.realpath(link) == str(helm4)
    assert re.search(r"^helm +4\.3\.2 +640 +latest/stable ", node.snap("list", "helm").stdout, re.M)
    proc = node.snap("refresh", "helm", "--channel=3/stable", env=env)
    assert proc.returncode == 0, proc.stderr
    assert os.path.realpath(link) == str(helm3)
    assert "3/stable" in node.snap("list", "helm").stdout
    proc = node.snap("refresh", "helm", "--channel=4/stable", env=env)
    assert os.path.realpath(link) == str(helm4)
    info = node.snap("info", "helm").stdout
    assert re.search(r"^  3/stable: +3\.21\.4 ", info, re.M) and re.search(r"^  4/stable: +4\.3\.2 ", info, re.M)


def test_a_restarted_node_turns_ready_sooner_than_a_new_one(node_factory, api):
    node = node_factory("slow", "10.89.0.21", primary=True)
    slow = {"KAAPANA_LAB_NODE_READY_DELAY": "20"}
    assert node.snap("install", "microk8s", "--classic", "--channel=1.33/stable", env=slow).returncode == 0
    assert api.get("Node", "slow")["metadata"]["annotations"]["kwok.test/ready-after"] == "20"
    # a refresh restarts the services: Calico is in place, the Node is Ready again after the restart delay
    assert node.snap("refresh", "microk8s", "--channel=1.34/stable", env=slow).returncode == 0
    assert api.get("Node", "slow")["metadata"]["annotations"]["kwok.test/ready-after"] == "5"
