# -----------------------------------------------------------------------------------------------
# Shared helpers of the kaapana lab STAND-INS (snap, microk8s, nvidia-smi) -- none of this is
# part of the real tools. One copy of what every stand-in needs: the (possibly fake) root and
# clock, the node container's environment and lab.env, the lab's kubectl/helm binaries and
# kubeconfig, Go text/tabwriter alignment and the command-line entry point.
# Python 3 standard library only: it runs with Debian's python3 inside the node container.
# -----------------------------------------------------------------------------------------------
import base64
import os
import sys
import time

# Read once at import, as each stand-in did: one process serves one command line.
ROOT = os.environ.get("KAAPANA_LAB_STANDIN_ROOT") or "/"


def P(path):
    """An absolute path inside the (possibly fake) root."""
    if ROOT in ("", "/"):
        return path
    return os.path.join(ROOT, path.lstrip("/"))


def now():
    fixed = os.environ.get("KAAPANA_LAB_STANDIN_NOW")
    return float(fixed) if fixed else time.time()


def run_main(main, argv):
    """Exit with main(argv)'s status; a closed stdout (`snap list | head -1`) ends quietly with 1."""
    try:
        sys.exit(main(argv))
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


# ---- environment of the node ----------------------------------------------------------------------
def node_env(name, default=None):
    """The variable as the caller has it, else as the container got it (PID 1's environment):
    `sudo`, SSH sessions and systemd units do not pass the lab's variables on."""
    if name in os.environ:
        return os.environ[name]
    try:
        with open(P("/proc/1/environ"), "rb") as handle:
            for item in handle.read().split(b"\0"):
                key, dummy, value = item.decode("utf-8", "replace").partition("=")
                if key == name:
                    return value
    except OSError:
        pass
    return default


def lab_env():
    """/etc/kaapana-lab/lab.env (KEY=value lines the lab writes into the node share)."""
    values = {}
    try:
        with open(P("/etc/kaapana-lab/lab.env")) as handle:
            for line in handle:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    key, value = line.split("=", 1)
                    values[key.strip()] = value.strip().strip('"').strip("'")
    except OSError:
        pass
    return values


# ---- the lab API ---------------------------------------------------------------------------------
def kubectl_bin():
    return os.environ.get("KAAPANA_LAB_STANDIN_KUBECTL") or P("/opt/kaapana-lab/bin/kubectl")


def helm_bin(major=3):
    """The real Helm binary of a major: 3 (what MicroK8s 1.33 bundles as `microk8s helm3`) or 4 (the helm snap's
    latest/stable and 4/* today)."""
    if int(major) >= 4:
        return os.environ.get("KAAPANA_LAB_STANDIN_HELM4") or P("/opt/kaapana-lab/bin/helm4")
    return os.environ.get("KAAPANA_LAB_STANDIN_HELM") or P("/opt/kaapana-lab/bin/helm")


def _b64_file(path):
    try:
        with open(path, "rb") as handle:
            return base64.b64encode(handle.read()).decode()
    except OSError:
        return None


def kubeconfig_text(user="admin"):
    """MicroK8s' client-x509.config.template filled in as create_kubeconfig_x509 does, reaching
    the lab API server instead of 127.0.0.1:16443."""
    ca = _b64_file(P("/etc/kaapana-lab/ca.crt"))
    cert = _b64_file(P("/etc/kaapana-lab/admin.crt"))
    key = _b64_file(P("/etc/kaapana-lab/admin.key"))
    server = lab_env().get("LAB_API_SERVER") or "https://127.0.0.1:16443"
    lines = ["apiVersion: v1", "clusters:", "- cluster:"]
    if ca:
        lines.append("    certificate-authority-data: %s" % ca)
    lines += ["    server: %s" % server, "  name: microk8s-cluster", "contexts:", "- context:",
              "    cluster: microk8s-cluster", "    user: %s" % user, "  name: microk8s",
              "current-context: microk8s", "kind: Config", "preferences: {}", "users:", "- name: %s" % user,
              "  user:"]
    if cert and key:
        lines += ["    client-certificate-data: %s" % cert, "    client-key-data: %s" % key]
    else:
        lines += ["    client-certificate-data: ''", "    client-key-data: ''"]
    return "\n".join(lines) + "\n"


def lab_kubeconfig():
    """kubeconfig_text() in a root-only file, rewritten only when it changed."""
    override = os.environ.get("KAAPANA_LAB_STANDIN_KUBECONFIG")
    if override:
        return override
    path = P("/var/lib/kaapana-lab-standin/lab.kubeconfig")
    text = kubeconfig_text()
    try:
        with open(path) as handle:
            if handle.read() == text:
                return path
    except OSError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(path + ".tmp", path)
    return path


# ---- Go text/tabwriter, as snap's and ctr's tables rely on it -----------------------------------
def tabwrite(lines, minwidth, padding):
    """Lines with tab-separated cells, aligned as Go's text/tabwriter (padchar ' ', flags 0) does:
    a cell is a column cell only when a tab terminates it; a column block is a run of adjacent
    lines that have a cell in that column."""
    rows = [line.split("\t") for line in lines]
    widths = [[None] * len(row) for row in rows]

    def block(start, end, col):
        i = start
        while i < end:
            if col < len(rows[i]) - 1:
                j, width = i, minwidth
                while j < end and col < len(rows[j]) - 1:
                    width = max(width, len(rows[j][col]) + padding)
                    j += 1
                for k in range(i, j):
                    widths[k][col] = width
                block(i, j, col + 1)
                i = j
            else:
                i += 1

    block(0, len(rows), 0)
    return ["".join(cell if width is None else cell + " " * (width - len(cell)) for cell, width in zip(row, row_widths))
            for row, row_widths in zip(rows, widths)]


# ---- host side: commands inside a node container ---------------------------------------------------
def podman_node_exec(containers_conf, log=None, timeout=60):
    """For the host processes (provisioner.py, kube_helm.py), not the node: a function node_exec(node, argv,
    env=None, workdir=None, timeout=None) that runs argv inside the node container of a Kubernetes node with
    `podman exec` and returns a subprocess.CompletedProcess (returncode, stdout = stdout and stderr together).
    The node name is the container's host name: the container name itself, or NAME.DOMAIN for an FQDN-named node
    (lab container names have no dots). env values travel in podman's environment (`--env NAME`), never in argv.
    A command that outlives the timeout ends with returncode 124, as coreutils' timeout reports it."""
    import logging
    import shutil
    import subprocess

    log = log or logging.getLogger("kaapana-lab-standin")
    podman = shutil.which("podman") or "podman"

    def node_exec(node, argv, env=None, workdir=None, timeout=timeout):
        run_env = dict(os.environ, CONTAINERS_CONF=containers_conf)
        cmd = [podman, "exec"]
        for name, value in (env or {}).items():
            run_env[name] = value
            cmd += ["--env", name]
        if workdir:
            cmd += ["--workdir", workdir]
        cmd += [node.split(".")[0]] + list(argv)
        try:
            proc = subprocess.run(cmd, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  errors="replace", timeout=timeout, check=False)
        except subprocess.TimeoutExpired as error:
            output = error.stdout or b""
            output = output.decode("utf-8", "replace") if isinstance(output, bytes) else output
            log.warning("podman exec %s %s: timed out after %ss", node, " ".join(argv)[:200], timeout)
            return subprocess.CompletedProcess(cmd, 124, output + "\ntimed out after %ss\n" % timeout, None)
        if proc.returncode != 0:
            log.warning("podman exec %s %s: exit %d: %s", node, " ".join(argv)[:200], proc.returncode,
                        proc.stdout.strip()[-300:])
        return proc
    return node_exec
