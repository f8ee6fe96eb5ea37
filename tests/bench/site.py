"""site.yml on 1, 3 and 6 lab nodes: the first run, the idempotent re-run, and the time each added node costs.

Each size gets fresh node containers (bench-s<N>-<i>), the lab inventory's settings and the fixture platform;
after the two runs the platform is undeployed with a purge and the containers removed. Times are wall seconds of
ansible-playbook; `changed` is the re-run's total from the PLAY RECAP (0 when idempotent).

Nodes are reached over SSH (BENCH_SITE_CONNECTION=ssh, the default) as an admin reaches real hosts: key
login as root, pipelining on (ansible.cfg). BENCH_SITE_CONNECTION=podman uses the podman connection of the
tests instead, which has no pipelining and pays several podman calls per task."""
import os
import sys
import time

from tests.bench.common import BIN, timed
from lab.config import CONFIG, ROOT


def connection():
    name = os.environ.get("BENCH_SITE_CONNECTION", "ssh")
    if name not in ("ssh", "podman"):
        raise SystemExit("BENCH_SITE_CONNECTION must be ssh or podman, not %r" % name)
    return name


def _host_vars(name):
    from lab import nodes
    if connection() == "ssh":
        return dict(nodes.ssh_host_vars(CONFIG, nodes.podman_env(CONFIG), name),
                    ansible_python_interpreter="/usr/bin/python3")
    return {"ansible_connection": "containers.podman.podman", "ansible_python_interpreter": "/usr/bin/python3"}


def _inventory(path, names):
    import yaml
    group_vars = {
        "kaapana_sysctl_apply": False, "kaapana_proxy_reboot": False,
        "kaapana_microk8s_dns_servers": [CONFIG.gateway],
        "kaapana_registry_url": "%s/charts" % CONFIG.registry, "kaapana_registry_username": CONFIG.registry_user,
        "kaapana_registry_password": CONFIG.registry_password(), "kaapana_plain_http": True,
        "kaapana_platform_name": "kaapana-admin-chart", "kaapana_platform_version": "0.6.0-lab",
        "kaapana_domain": "kaapana.bench.lab.internal", "kaapana_platform_wait_settle": 5,
    }
    inv = {"all": {"vars": group_vars, "children": {
        "kaapana_main": {"hosts": {names[0]: _host_vars(names[0])}},
        "kaapana_workers": {"hosts": {n: _host_vars(n) for n in names[1:]}}}}}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        yaml.safe_dump(inv, handle)


def _env():
    from tests.bench.common import env
    e = env()
    e.pop("ANSIBLE_STDOUT_CALLBACK", None)
    e.pop("ANSIBLE_LOAD_CALLBACK_PLUGINS", None)
    e.update({"ANSIBLE_NOCOLOR": "1", "CONTAINERS_CONF": CONFIG.path("containers.conf")})
    return e


def _lab(*args):
    import subprocess
    return subprocess.run([sys.executable, "-m", "lab"] + list(args), cwd=ROOT, capture_output=True,
                          text=True, check=False)


def _playbook(inventory, playbook, extra_args=()):
    return timed([os.path.join(BIN, "ansible-playbook"), "-i", inventory, os.path.join(ROOT, playbook)]
                 + list(extra_args), env_=_env(), timeout=3600)


def _changed(output):
    from tests.integration.nodes import recap
    return sum(c.get("changed", 0) for c in recap(output).values())


def run(sizes, log, workdir):
    results = []
    for n in sizes:
        names = ["bench-s%d-%d" % (n, i) for i in range(n)]
        inventory = os.path.join(workdir, "site-%d.yml" % n)
        try:
            for i, name in enumerate(names):
                res = _lab("node", name + (":primary" if i == 0 else ""))
                if res.returncode != 0:
                    raise RuntimeError("lab node %s: %s" % (name, res.stderr[-500:]))
            if connection() == "ssh":
                from lab import nodes
                for name in names:
                    nodes.wait_for_ssh(CONFIG, nodes.podman_env(CONFIG), name)
            _inventory(inventory, names)
            time.sleep(2)
            log("site: %d node(s), first run..." % n)
            first, first_s, first_cpu, dummy = _playbook(inventory, "site.yml")
            log("site: %d node(s), re-run..." % n)
            again, again_s, again_cpu, dummy = _playbook(inventory, "site.yml")
            row = {"nodes": n, "connection": connection(), "first_s": round(first_s, 1), "rerun_s": round(again_s, 1),
                   "first_ok": first.returncode == 0, "rerun_ok": again.returncode == 0,
                   "rerun_changed": _changed(again.stdout), "controller_cpu_s": round(first_cpu + again_cpu, 1)}
            if not (row["first_ok"] and row["rerun_ok"]):
                row["error"] = (first.stdout + again.stdout)[-1500:]
            results.append(row)
            log("  %s" % {k: v for k, v in row.items() if k != "error"})
        finally:
            # A purge: the hostpath PVCs are bound to these containers, which go next; kept, they would leave
            # the next size's postgres Unschedulable.
            _playbook(inventory, "playbooks/undeploy.yml", extra_args=[
                "-e", '{"kaapana_purge_data": true, "kaapana_purge_confirm": "kaapana.bench.lab.internal"}'])
            for name in names:
                _lab("node-rm", name)
                _lab_kubectl_delete_node(name)
    return results


def _lab_kubectl_delete_node(name):
    import subprocess
    subprocess.run([CONFIG.bin("kubectl"), "--kubeconfig", CONFIG.kubeconfig, "delete", "node", name,
                    "--ignore-not-found"], capture_output=True, check=False)


def summary(results):
    """Re-run share of the first run, and the extra time per added node relative to the 1-node run: for the first
    run, the re-run, and the controller's CPU (on real hosts the node side runs on the nodes' own CPUs; here the
    controller and every node container share this machine's cores)."""
    by = {r["nodes"]: r for r in results}
    out = {"rerun_share": {n: round(r["rerun_s"] / r["first_s"], 3) for n, r in by.items() if r["first_s"]}}
    base = by.get(min(by)) if by else None
    for key, field in (("per_added_node", "first_s"), ("per_added_node_rerun", "rerun_s"),
                       ("per_added_node_controller_cpu", "controller_cpu_s")):
        out[key] = {}
        if base and base.get(field):
            for n, r in sorted(by.items()):
                if n > base["nodes"] and field in r:
                    out[key][n] = round((r[field] - base[field]) / (n - base["nodes"]) / base[field], 3)
    return out
