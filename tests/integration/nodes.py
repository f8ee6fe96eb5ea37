"""Helpers for lab tests that run the collection's playbooks against node containers."""
import contextlib
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys

import pytest
import yaml

from lab import nodes as lab_nodes
from lab.config import CONFIG, ROOT


def _lab_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "lab"] + list(args), cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, **(env or {})), check=False)


@contextlib.contextmanager
def node_containers(lab, names, primary=None, gpus=None, domain=None, timing=None, proxied=False):
    """Start lab node containers (the first name is the primary unless `primary` says otherwise); with `domain`,
    each container's host name is the FQDN NAME.DOMAIN, so its Node is named so (node_name says which). `timing`:
    the stand-ins' delays for these nodes ({"LAB_SNAPD_SEED_SECONDS": "5", "LAB_MICROK8S_ADDON_DELAY": "5",
    "LAB_NODE_READY_DELAY": "5"}, what
    lab/nodes.py's node_run_args reads), else the lab's defaults. `proxied`: the nodes are on the lab's proxied
    network and reach the registry only through its squid (lab/proxy.py)."""
    primary = names[0] if primary is None else primary
    gpus = gpus or {}
    started = []
    try:
        for name in names:
            spec = name + (":primary" if name == primary else "")
            if gpus.get(name):
                spec += ":gpu=%d" % gpus[name]
            if domain:
                spec += ":domain=" + domain
            if proxied:
                spec += ":proxied"
            res = _lab_cli("node", spec, env=timing)
            assert res.returncode == 0, res.stdout + res.stderr
            started.append(name)
        for name in names:
            podman(lab, "exec", name, "systemctl", "is-system-running", "--wait", check=False)
        yield names
    finally:
        for name in started:
            _lab_cli("node-rm", name)
            lab.kubectl_run("delete", "node", node_name(name, domain), "--ignore-not-found", check=False)


def node_name(container, domain=None):
    """The Kubernetes Node name of a lab node container: its host name in lower case, as MicroK8s names nodes."""
    return ("%s.%s" % (container, domain) if domain else container).lower()


def podman(lab, *args, check=True, input_text=None, timeout=300):
    res = subprocess.run(["podman"] + list(args), env=lab_nodes.podman_env(lab.cfg), capture_output=True, text=True,
                         input=input_text, timeout=timeout, check=False)
    if check:
        assert res.returncode == 0, "podman %s: %s%s" % (" ".join(args), res.stdout, res.stderr)
    return res


def node_exec(lab, node, *argv, check=True):
    return podman(lab, "exec", node, *argv, check=check)


# How lab tests reach node containers: over SSH with the lab key and pipelining, as an admin reaches real hosts
# (about twice as cheap per task as the podman connection, which copies every module in); KAAPANA_LAB_CONNECTION=podman
# goes back to the podman connection.
LAB_CONNECTION = os.environ.get("KAAPANA_LAB_CONNECTION", "ssh")


def connection_vars(name):
    """Inventory variables that reach the lab node container `name`."""
    if LAB_CONNECTION == "podman":
        return {"ansible_connection": "containers.podman.podman", "ansible_python_interpreter": "/usr/bin/python3"}
    env = lab_nodes.podman_env(CONFIG)
    lab_nodes.wait_for_ssh(CONFIG, env, name)
    return dict(lab_nodes.ssh_host_vars(CONFIG, env, name), ansible_python_interpreter="/usr/bin/python3")


# The lab's node containers are far smaller than a Kaapana server and share the host's kernel: the preflight's host
# checks run with thresholds they meet (the checks themselves: tests/unit/plugins/plugin_utils/test_host_checks.py;
# the same values are in molecule/base.yml and inventories/lab).
LAB_HOST_CHECKS = {
    "kaapana_preflight_snap_min_free_gib": 5,
    "kaapana_preflight_data_min_free_gib": 5,
    "kaapana_preflight_memory_fail_gib": 4,
    "kaapana_preflight_cores_fail": 1,
    # kaapana_sysctl_apply is false here: the check would judge the host's kernel, which the lab does not own.
    "kaapana_preflight_inotify_min": 0,
    # The tests' platform domains are in no DNS the nodes use.
    "kaapana_preflight_domain_resolves": False,
}


def write_inventory(path, main, workers, group_vars=None, host_vars=None):
    """A YAML inventory of lab node containers (reached as connection_vars says)."""
    host_vars = host_vars or {}
    reach = {}

    def hosts(names):
        for n in names:
            if n not in reach:
                reach[n] = connection_vars(n)
        return {n: dict(reach[n], **host_vars.get(n, {})) for n in names}

    inv = {"all": {"vars": dict(dict(LAB_HOST_CHECKS, kaapana_sysctl_apply=False), **(group_vars or {})),
                   "children": {"kaapana_main": {"hosts": hosts(main)},
                                "kaapana_workers": {"hosts": hosts(workers)}}}}
    with open(path, "w") as handle:
        yaml.safe_dump(inv, handle)
    return str(path)


def shaped_lab(shape):
    """A module's `lab` fixture: the session's lab seen through the Helm major of shape (``helm_major``; the
    fixture platform's ``version`` is the module's to use), the test ids naming both (helm4-kaapana0.6.1)."""
    @pytest.fixture(scope="module", params=[shape], ids=lambda shape: "helm%d-kaapana%s" % (
        shape["helm_major"], shape["version"].replace("-lab", "")))
    def lab(request, lab):  # pylint: disable=redefined-outer-name
        return lab.with_helm(request.param["helm_major"])
    return lab


# `helm list --all` is gone in Helm 4; these flags list every release state on both majors.
HELM_LIST_ALL_STATES = ["--deployed", "--failed", "--pending", "--superseded", "--uninstalled", "--uninstalling"]


def helm_releases(lab, *selectors, check=True):
    """`helm list` of every state with the lab's helm (lab.helm: the major of a lab.with_helm view), narrowed by
    selectors (`--all-namespaces`, `-n NS`, `--filter RE`), as helm's JSON records."""
    out = subprocess.run([lab.helm, "--kubeconfig", lab.kubeconfig, "list"] + HELM_LIST_ALL_STATES + list(selectors)
                         + ["-o", "json"], capture_output=True, text=True, check=check).stdout
    return json.loads(out or "[]")


def run_playbook(lab, playbook, inventory, extra_vars=None, extra_args=(), timeout=1200):
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory,
            os.path.join(ROOT, playbook)] + list(extra_args)
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    env = lab.env()
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_NOCOLOR"] = "1"
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=env, timeout=timeout, check=False)


def changed_tasks(output):
    """'TASK name: host' for every task result reported as changed in a playbook's output (for failure messages)."""
    found, task = [], None
    for line in output.splitlines():
        m = re.match(r"^TASK \[(.*)\]", line)
        if m:
            task = m.group(1)
        m = re.match(r"^changed: \[([^\]]+)\]", line)
        if m and task:
            found.append("%s: %s" % (task, m.group(1)))
    return found


def recap(output):
    """{host: {ok, changed, failed, ...}} from a PLAY RECAP."""
    result = {}
    for line in output.splitlines():
        m = re.match(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$", line.strip())
        if m:
            result[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
    return result


def fingerprint(lab, node, paths):
    """sha256 of each path's content (or 'missing') inside a node container: a 'nothing changed' witness."""
    out = {}
    for path in paths:
        res = node_exec(lab, node, "sh", "-c", "test -e '%s' && cat '%s' || echo __missing__" % (path, path),
                        check=False)
        out[path] = hashlib.sha256(res.stdout.encode()).hexdigest() if "__missing__" not in res.stdout else "missing"
    return out


def run_role_locally(tmp_path, role, role_vars, tasks_from=None, main_hosts=("localhost",), inventory_vars=None,
                     extra_vars=None):
    """Run one of the collection's roles on localhost (the bad-input tests: no node is needed to see
    a role fail in its validate tasks). role_vars are play variables; inventory_vars go to the inventory's `all`
    group, extra_vars to -e."""

    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory = {"all": {"hosts": {"localhost": local}, "vars": dict(LAB_HOST_CHECKS, **(inventory_vars or {})),
                         "children": {"kaapana_main": {"hosts": dict((h, local) for h in main_hosts)}}}}
    include = {"name": "kaapana.platform." + role}
    if tasks_from:
        include["tasks_from"] = tasks_from
    play = [{"name": "%s role with bad input" % role, "hosts": "localhost", "gather_facts": False,
             "vars": role_vars, "tasks": [{"name": "Run the %s role" % role, "ansible.builtin.include_role": include}]}]
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    (tmp_path / "play.json").write_text(json.dumps(play))
    env = dict(os.environ)
    env.update({"ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
                "ANSIBLE_COLLECTIONS_PATH": os.path.join(ROOT, ".build", "collections"),
                "ANSIBLE_ROLES_PATH": os.path.join(ROOT, "roles"),
                "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_RETRY_FILES_ENABLED": "0",
                "ANSIBLE_LOCALHOST_WARNING": "0"})
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    argv = [playbook, "-i", str(tmp_path / "inventory.json"), str(tmp_path / "play.json")]
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def run_role_on_node(lab, tmp_path, node, role, role_vars, main_aliases=(), extra_args=(), tasks_from=None):
    """Run one of the collection's roles (or its tasks_from entry point) on a lab node container (reached as
    connection_vars says) with facts gathered, as play variables role_vars; main_aliases add more names for the same
    node to kaapana_main (a second main host)."""

    host = connection_vars(node)
    main_hosts = dict({node: host}, **{alias: host for alias in main_aliases})
    inventory = {"all": {"vars": dict(LAB_HOST_CHECKS), "children": {"kaapana_main": {"hosts": main_hosts}}}}
    play = [{"name": "%s on %s" % (role, node), "hosts": node, "gather_facts": True, "vars": role_vars,
             "tasks": [{"name": "Run the %s role" % role, "ansible.builtin.include_role": dict(
                 {"name": "kaapana.platform." + role}, **({"tasks_from": tasks_from} if tasks_from else {}))}]}]
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    (tmp_path / "play.json").write_text(json.dumps(play))
    env = lab.env()
    env.update({"ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_RETRY_FILES_ENABLED": "0",
                "ANSIBLE_ROLES_PATH": os.path.join(ROOT, "roles")})
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    argv = [playbook] + list(extra_args) + ["-i", str(tmp_path / "inventory.json"), str(tmp_path / "play.json")]
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)


def assert_rejected(proc, words, not_reached=(), unchanged=True):
    """A run that bad input must stop in its checks: ansible-playbook exits 2, the output has every word (the
    variable's name first), no task of not_reached ran and, with unchanged, no task changed anything. Returns the
    output for a test's own further checks."""
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    missing = [word for word in words if word not in output]
    assert not missing, "%r not in the output:\n%s" % (missing, output)
    ran = [task for task in not_reached if task in output]
    assert not ran, "tasks ran although the input was bad: %r\n%s" % (ran, output)
    if unchanged:
        assert "changed=0" in output, output
    return output


def data_digest(lab, node, directory):
    """`sha256sum` lines of every file under a directory inside a node container, in path order: equal digests
    mean byte-identical data ("" when the directory is missing or empty)."""
    return node_exec(lab, node, "sh", "-c", "find %s -type f -print0 | sort -z | xargs -0 -r sha256sum"
                     % shlex.quote(directory), check=False).stdout


def lab_platform_vars(lab, **settings):
    """Group variables that deploy the fixture platform from the lab's registry onto lab node containers, plus
    a test's own settings (domain, passwords, namespaces, ...)."""
    base = {
        "kaapana_registry_url": "%s/charts" % lab.registry,
        "kaapana_registry_username": lab.registry_user,
        "kaapana_registry_password": lab.registry_password(),
        "kaapana_platform_name": "kaapana-admin-chart",
        "kaapana_platform_version": "0.6.0-lab",
        "kaapana_plain_http": True,
        "kaapana_proxy_reboot": False,
        "kaapana_microk8s_dns_servers": [lab.cfg.gateway],
        # The lab's platform is ready in a minute or two: a platform that is not ready after 7 minutes fails with the
        # health gate's report instead of waiting the default half hour (and eating the CI's time).
        "kaapana_platform_wait_timeout": 420,
    }
    base.update(settings)
    return base


def live_pods(lab, namespace):
    """The pods of a namespace that are not terminating ([] when the namespace is missing)."""

    out = lab.kubectl_run("-n", namespace, "get", "pods", "-o", "json", check=False)
    if out.returncode != 0:
        return []
    return [p for p in json.loads(out.stdout)["items"] if not p["metadata"].get("deletionTimestamp")]


def pods_not_ready(lab, namespaces):
    """'<ns>: no pods' and '<ns>/<pod>' for every namespace without pods and every pod neither Ready nor
    Succeeded: [] when all of them are done."""
    problems = []
    for ns in namespaces:
        pods = live_pods(lab, ns)
        if not pods:
            problems.append("%s: no pods" % ns)
        for pod in pods:
            done = pod["status"].get("phase") == "Succeeded" or all(
                c["ready"] for c in pod["status"].get("containerStatuses", [{"ready": False}]))
            if not done:
                problems.append("%s/%s" % (ns, pod["metadata"]["name"]))
    return problems
