"""The lab's forward proxy and the network that can reach the registry only through it.

A hospital server reaches image registries only through the site's proxy. The lab does the same for nodes on the
proxied network (LabConfig.proxied_network): host firewall rules let them reach the lab API server and the proxy,
and reject everything else they send to this host or beyond it. The proxy is Debian's squid (the package's binary,
run by the lab with its own configuration; the package's own service is not used). Its access log shows what the
nodes fetched through it (access_log(cfg)).
"""
import hashlib
import os
import pwd
import shutil
import subprocess

CHAIN = "KAAPANA-LAB-PROXIED"


def binary():
    return shutil.which("squid") or "/usr/sbin/squid"


def _dir(cfg):
    """squid's configuration, logs and PID file. Not under the lab state: squid runs as the proxy user, who must
    reach the folder, and a checkout may lie below a folder only root can enter (a fresh clone in a mktemp folder).
    One folder per lab state, in /tmp (world-traversable)."""
    return os.path.join("/tmp", "kaapana-lab-squid-" + hashlib.sha256(cfg.state.encode()).hexdigest()[:12])


def cleanup(cfg):
    shutil.rmtree(_dir(cfg), ignore_errors=True)


def access_log(cfg):
    return os.path.join(_dir(cfg), "access.log")


def configure(cfg):
    """squid.conf under the lab state: listens on the gateway, forwards for the lab's networks only, caches nothing."""
    folder = _dir(cfg)
    os.makedirs(folder, exist_ok=True)
    # squid drops root for its effective user (proxy on Debian), which must write the logs and the PID file.
    try:
        user = pwd.getpwnam("proxy")
        os.chown(folder, user.pw_uid, user.pw_gid)
    except KeyError:
        pass
    conf = os.path.join(folder, "squid.conf")
    with open(conf, "w") as handle:
        handle.write("\n".join([
            "# kaapana lab forward proxy (written by lab/proxy.py)",
            "http_port %s:%d" % (cfg.gateway, cfg.proxy_port),
            "pid_filename %s" % os.path.join(folder, "squid.pid"),
            "cache_log %s" % os.path.join(folder, "cache.log"),
            "access_log stdio:%s" % access_log(cfg),
            "coredump_dir %s" % folder,
            "cache deny all",
            "cache_mem 8 MB",
            "netdb_filename none",
            "shutdown_lifetime 1 seconds",
            "acl lab_nodes src %s %s" % (cfg.subnet, cfg.proxied_subnet),
            "http_access allow lab_nodes",
            "http_access deny all",
            "",
        ]))
    return conf


def argv(cfg):
    # -N: in the foreground (the lab's process table stops it); -d 0: nothing but errors on stderr
    return [binary(), "-N", "-d", "0", "-f", os.path.join(_dir(cfg), "squid.conf")]


def healthy(cfg):
    import socket
    if not cfg.gateway_is_local():
        return False
    try:
        with socket.create_connection((cfg.gateway, cfg.proxy_port), timeout=2):
            return True
    except OSError:
        return False


def _iptables(*args, check=True):
    return subprocess.run(["iptables", "-w"] + list(args), capture_output=True, text=True, check=check)


def firewall_up(cfg):
    """Nodes on the proxied network reach this host's API server and proxy only; replies to connections this host
    opened (SSH from the controller) pass. Anything they send beyond this host is rejected too."""
    if _iptables("-n", "-L", CHAIN, check=False).returncode != 0:
        _iptables("-N", CHAIN)
    _iptables("-F", CHAIN)
    rules = [
        ["-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"],
        ["-p", "tcp", "-d", cfg.gateway, "--dport", str(cfg.api_port), "-j", "RETURN"],
        ["-p", "tcp", "-d", cfg.gateway, "--dport", str(cfg.proxy_port), "-j", "RETURN"],
        # name resolution from podman's DNS on the network's gateway
        ["-p", "udp", "-d", cfg.proxied_gateway, "--dport", "53", "-j", "RETURN"],
        ["-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"],
        ["-j", "REJECT"],
    ]
    for rule in rules:
        _iptables("-A", CHAIN, *rule)
    for table_chain, match in (("INPUT", ["-s", cfg.proxied_subnet]),
                               ("FORWARD", ["-s", cfg.proxied_subnet, "!", "-d", cfg.proxied_subnet])):
        spec = match + ["-j", CHAIN]
        if _iptables("-C", table_chain, *spec, check=False).returncode != 0:
            _iptables("-I", table_chain, "1", *spec)


def firewall_down(cfg):
    for table_chain, match in (("INPUT", ["-s", cfg.proxied_subnet]),
                               ("FORWARD", ["-s", cfg.proxied_subnet, "!", "-d", cfg.proxied_subnet])):
        while _iptables("-D", table_chain, *(match + ["-j", CHAIN]), check=False).returncode == 0:
            pass
    _iptables("-F", CHAIN, check=False)
    _iptables("-X", CHAIN, check=False)
