"""`python -m lab up|down|status|env|build|node|restart-apiserver` — the lab's CLI
(the Makefile's lab-* targets call it)."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

from lab import controlplane, nodes, proxy, registry
from lab.config import CONFIG, ROOT
from lab.procs import ProcessTable

BUILD_SCRIPT = os.path.join(ROOT, "lab", "scripts", "build-binaries.sh")
PROVISIONER = os.path.join(ROOT, "lab", "standins", "provisioner.py")
KUBE_HELM = os.path.join(ROOT, "lab", "standins", "kube_helm.py")
POOL_NODE = "lab-pool-0"
LAB_PORTS = {"kube-apiserver": (CONFIG.gateway, CONFIG.api_port), "etcd": ("127.0.0.1", 2379),
             "etcd-peer": ("127.0.0.1", 2380), "etcd-metrics": ("127.0.0.1", 2381),
             "registry": (CONFIG.gateway, CONFIG.registry_port), "squid": (CONFIG.gateway, CONFIG.proxy_port),
             "kube-controller-manager": ("127.0.0.1", 10257),
             "kube-scheduler": ("127.0.0.1", 10259), "kwok": ("127.0.0.1", 10247)}


def log(msg):
    print("[lab] " + msg, flush=True)


def _state_file(cfg):
    return cfg.path("lab.json")


def load_state(cfg):
    try:
        with open(_state_file(cfg)) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {"containers": {}, "network_created": False}


def save_state(cfg, state):
    os.makedirs(cfg.state, exist_ok=True)
    with open(_state_file(cfg), "w") as handle:
        json.dump(state, handle, indent=2, sort_keys=True)


def kubectl(cfg, *args, check=True, input_text=None):
    return subprocess.run([cfg.bin("kubectl"), "--kubeconfig", cfg.kubeconfig] + list(args), check=check,
                          capture_output=True, text=True, input=input_text)


def binaries_present(cfg):
    names = ["etcd", "kwok", "helm", "helm4", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"]
    return all(os.path.exists(cfg.bin(n)) for n in names)


def ensure_binaries(cfg):
    if binaries_present(cfg):
        return 0.0
    log("building lab binaries (cold build; cached in %s afterwards)" % cfg.cache)
    start = time.time()
    subprocess.run(["bash", BUILD_SCRIPT], check=True, env=dict(os.environ, KAAPANA_LAB_CACHE=cfg.cache))
    took = time.time() - start
    log("cold build of the lab binaries took %.0fs" % took)
    return took


def _pool_node_manifest(name):
    return json.dumps({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "annotations": {"node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake"},
                     "labels": {"kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux",
                                "kubernetes.io/hostname": name, "kaapana.io/lab-pool": "true"}},
        "status": {"allocatable": {"cpu": "64", "memory": "256Gi", "pods": "5000"},
                   "capacity": {"cpu": "64", "memory": "256Gi", "pods": "5000"}},
    })


def up(cfg, args):
    t0 = time.time()
    procs = ProcessTable(cfg.state)
    state = load_state(cfg)
    build_s = ensure_binaries(cfg)
    registry.ensure_binary(cfg)
    env = nodes.podman_env(cfg)
    image = nodes.build_image(cfg, log)
    state["image"] = image
    if nodes.ensure_network(cfg, env):
        state["network_created"] = True
    if nodes.ensure_network(cfg, env, cfg.proxied_network, cfg.proxied_subnet, cfg.proxied_gateway):
        state["proxied_network_created"] = True
    proxy.firewall_up(cfg)
    anchor = nodes.start_anchor(cfg, env, image)
    if anchor:
        state["containers"][nodes.ANCHOR] = anchor
    save_state(cfg, state)
    controlplane.start(cfg, procs)
    kubectl(cfg, "apply", "-f", "-", input_text=_pool_node_manifest(POOL_NODE))
    kubectl(cfg, "wait", "--for=condition=Ready", "node/" + POOL_NODE, "--timeout=60s")
    deadline = time.time() + 60
    while kubectl(cfg, "-n", "default", "get", "serviceaccount", "default", check=False).returncode != 0:
        if time.time() > deadline:
            raise RuntimeError("kube-controller-manager never created the default ServiceAccount")
        time.sleep(0.5)
    registry.configure(cfg)
    if not (procs.running("registry") and registry.healthy(cfg)):
        procs.stop("registry")
        procs.start("registry", registry.argv(cfg))
        controlplane.wait_for(lambda: registry.healthy(cfg), "registry", 30, procs, "registry")
    pushed = registry.push_charts(cfg)
    registry.push_cni_image(cfg)
    proxy.configure(cfg)
    if not (procs.running("squid") and proxy.healthy(cfg)):
        procs.stop("squid")
        procs.start("squid", proxy.argv(cfg))
        controlplane.wait_for(lambda: proxy.healthy(cfg), "squid", 30, procs, "squid")
    nodes.node_share(cfg)
    if os.path.exists(PROVISIONER) and not procs.running("provisioner"):
        procs.start("provisioner", [sys.executable, PROVISIONER, "--kubeconfig", cfg.kubeconfig,
                                    "--containers-conf", nodes.podman_env(cfg)["CONTAINERS_CONF"]])
    kube_helm = kube_helm_argv(cfg)
    if procs.running("kube-helm") and procs.argv("kube-helm") != kube_helm:
        procs.stop("kube-helm")  # another delay or options: restarted (it remembers the Jobs it handled)
    if not procs.running("kube-helm"):
        procs.start("kube-helm", kube_helm)
    for spec in args.nodes or []:
        add_node(cfg, state, env, image, spec)
    save_state(cfg, state)
    took = time.time() - t0
    log("charts in oci://%s/charts: %s" % (cfg.registry, ", ".join(pushed) or "none"))
    log("lab up in %.1fs (%s)" % (took, "cold: binaries built in %.0fs" % build_s if build_s else "warm"))
    return 0 if status(cfg, quiet=True) == 0 else 1


def kube_helm_argv(cfg):
    """The kube-helm stand-in (installs the preinstall extensions when an init-extensions Job appears).
    Its delay comes from LAB_KUBE_HELM_DELAY in the environment of `lab up` (default 3 s)."""
    return [sys.executable, KUBE_HELM, "--delay", os.environ.get("LAB_KUBE_HELM_DELAY", "3"),
            "--kubeconfig", cfg.kubeconfig, "--helm", cfg.bin("helm"),
            "--registry", cfg.registry, "--registry-user", cfg.registry_user,
            "--registry-password-file", cfg.registry_password_file, "--state-dir", cfg.path("kube-helm"),
            "--containers-conf", nodes.podman_env(cfg)["CONTAINERS_CONF"]]


def add_node(cfg, state, env, image, spec):
    """spec: NAME[:primary][:gpu=N][:domain=DOMAIN][:proxied] (domain: the host name is NAME.DOMAIN, an FQDN;
    proxied: on the network that reaches the registry only through the lab's proxy)"""
    parts = spec.split(":")
    name, primary, gpus, domain = parts[0], "primary" in parts, {}, None
    for part in parts[1:]:
        if part.startswith("gpu="):
            gpus["count"] = int(part[4:])
        elif part.startswith("domain="):
            domain = part[len("domain="):]
    cid = nodes.start_node(cfg, env, image, name, primary=primary, gpus=gpus, domain=domain,
                           proxied="proxied" in parts)
    state["containers"][name] = cid
    log("node %s at %s" % (name, nodes.container_ip(env, name)))


def _listening(host, port):
    """Whether a socket on this host listens on host:port (read from the kernel, not by connecting)."""
    res = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True, check=False)
    wanted = {"%s:%d" % (host, port), "0.0.0.0:%d" % port, "*:%d" % port, "[::]:%d" % port}
    return any(len(cols) >= 4 and cols[3] in wanted for cols in (line.split() for line in res.stdout.splitlines()))


def down(cfg, args):
    procs = ProcessTable(cfg.state)
    state = load_state(cfg)
    env = nodes.podman_env(cfg)
    for name in ["kube-helm", "provisioner", "squid", "registry"] + list(reversed(controlplane.COMPONENTS)):
        pid = procs.stop(name)
        if pid:
            log("stopped %s (pid %d)" % (name, pid))
    for name in procs.names():  # anything else the lab recorded
        procs.stop(name)
    ids = list(state.get("containers", {}).values())
    nodes.remove_containers(env, ids)
    if ids:
        log("removed containers: %s" % ", ".join(sorted(state["containers"])))
    proxy.firewall_down(cfg)
    proxy.cleanup(cfg)
    for key, network in (("proxied_network_created", cfg.proxied_network), ("network_created", cfg.network)):
        if not state.get(key):
            continue
        res = nodes.podman("network", "rm", network, check=False, env=env)
        if res.returncode == 0:
            log("removed network %s" % network)
        else:
            log("network %s kept: %s" % (network, res.stderr.strip()))
    # The cluster's data goes with the lab; the PKI and the podman config stay for a fast next start.
    for sub in ("etcd", "registry", "charts", "node-share", "helm", "kube-helm", "lab.json", "kwok.yaml"):
        target = cfg.path(sub)
        if os.path.isdir(target):
            shutil.rmtree(target)
        elif os.path.exists(target):
            os.unlink(target)
    still = [name for name, (host, port) in LAB_PORTS.items() if _listening(host, port)]
    if still:
        log("ports still open: %s" % ", ".join(still))
        return 1
    log("lab down: no lab process, container or port left")
    return 0


def status(cfg, quiet=False):
    procs = ProcessTable(cfg.state)
    rows = []
    healthy = controlplane.health(cfg)
    for name in controlplane.COMPONENTS:
        rows.append((name, procs.running(name) and healthy[name], "pid %s" % procs.pid(name)))
    rows.append(("registry", procs.running("registry") and registry.healthy(cfg), "http://%s (auth)" % cfg.registry))
    rows.append(("squid", procs.running("squid") and proxy.healthy(cfg), "forward proxy %s for the nodes on %s"
                 % (cfg.proxy_url, cfg.proxied_network)))
    if os.path.exists(PROVISIONER):
        rows.append(("provisioner", procs.running("provisioner"), "stand-in PV provisioner"))
    rows.append(("kube-helm", procs.running("kube-helm"), "stand-in for kube-helm's init-extensions (log %s)"
                 % procs.log_path("kube-helm")))
    env = nodes.podman_env(cfg)
    state = load_state(cfg)
    for name, cid in sorted(state.get("containers", {}).items()):
        res = nodes.podman("container", "inspect", cid, "--format", "{{.State.Running}}", check=False, env=env)
        rows.append(("container " + name, res.stdout.strip() == "true", cid[:12]))
    if healthy["kube-apiserver"]:
        out = kubectl(cfg, "get", "nodes", "-o", "json", check=False)
        if out.returncode == 0:
            for item in json.loads(out.stdout)["items"]:
                ready = any(c["type"] == "Ready" and c["status"] == "True" for c in item["status"].get("conditions", []))
                rows.append(("node " + item["metadata"]["name"], ready, "Kubernetes Node"))
    ok = all(r[1] for r in rows)
    if not quiet or not ok:
        for name, good, detail in rows:
            print("%-34s %-9s %s" % (name, "healthy" if good else "DOWN", detail))
        print("lab: %s" % ("healthy" if ok else "NOT healthy"))
    return 0 if ok else 1


def print_env(cfg):
    print("export KUBECONFIG=%s" % cfg.kubeconfig)
    print("export LAB_API_SERVER=%s" % cfg.api_server)
    print("export LAB_REGISTRY=%s" % cfg.registry)
    print("export LAB_REGISTRY_USER=%s" % cfg.registry_user)
    print("export LAB_REGISTRY_PASSWORD_FILE=%s" % cfg.registry_password_file)
    print("export LAB_PROXY=%s" % cfg.proxy_url)
    print("export LAB_HELM=%s" % cfg.bin("helm"))
    print("export LAB_HELM4=%s" % cfg.bin("helm4"))
    print("export LAB_KUBECTL=%s" % cfg.bin("kubectl"))
    print("export CONTAINERS_CONF=%s" % cfg.path("containers.conf"))
    print("export LAB_NODE_IMAGE=%s" % nodes.image_tag(cfg))
    print("export LAB_NODE_SHARE=%s" % cfg.node_share)
    print("export LAB_NETWORK=%s" % cfg.network)
    return 0


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up", help="build what is missing and start the lab")
    p_up.add_argument("--node", dest="nodes", action="append", help="also start a node container NAME[:primary][:gpu=N][:domain=DOMAIN]")
    sub.add_parser("down", help="stop exactly what the lab started")
    sub.add_parser("status", help="health of every component; exit 0 when all are healthy")
    sub.add_parser("env", help="print shell exports for using the lab")
    sub.add_parser("build", help="build the binaries and the node image only")
    p_node = sub.add_parser("node", help="start a node container in a running lab")
    p_node.add_argument("spec", help="NAME[:primary][:gpu=N][:domain=DOMAIN]")
    p_ssh = sub.add_parser("node-ssh", help="wait for a node's sshd, print how to reach it (JSON, Molecule's "
                                            "instance config)")
    p_ssh.add_argument("name")
    p_rm = sub.add_parser("node-rm", help="remove a node container the lab started")
    p_rm.add_argument("name")
    sub.add_parser("restart-apiserver", help="restart kube-apiserver (fault tests)")
    args = parser.parse_args(argv)
    cfg = CONFIG
    if args.cmd == "up":
        return up(cfg, args)
    if args.cmd == "down":
        return down(cfg, args)
    if args.cmd == "status":
        return status(cfg)
    if args.cmd == "env":
        return print_env(cfg)
    if args.cmd == "build":
        ensure_binaries(cfg)
        registry.ensure_binary(cfg)
        log("node image %s" % nodes.build_image(cfg, log))
        return 0
    if args.cmd == "node":
        state = load_state(cfg)
        env = nodes.podman_env(cfg)
        # The image of the stand-ins as they are now (rebuilt if they changed since `up`), like Molecule's old
        # create step that ran `build` first.
        state["image"] = nodes.build_image(cfg, log)
        add_node(cfg, state, env, state["image"], args.spec)
        save_state(cfg, state)
        return 0
    if args.cmd == "node-ssh":
        env = nodes.podman_env(cfg)
        address = nodes.wait_for_ssh(cfg, env, args.name)
        print(json.dumps({"instance": args.name, "address": address, "user": "root", "port": 22,
                          "identity_file": nodes.ssh_key(cfg)}))
        return 0
    if args.cmd == "node-rm":
        state = load_state(cfg)
        cid = state["containers"].pop(args.name, None)
        if cid:
            nodes.remove_node(cfg, nodes.podman_env(cfg), cid)
        save_state(cfg, state)
        return 0
    if args.cmd == "restart-apiserver":
        controlplane.restart_apiserver(cfg, ProcessTable(cfg.state))
        return 0
    return 2
