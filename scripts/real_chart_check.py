"""Check the values the platform role computes against Kaapana's REAL kaapana-admin-chart (not the lab fixture).

    .venv/bin/python scripts/real_chart_check.py --kaapana-repo PATH [--kubeconfig FILE] [--rev REV ...]
                                                 [--matrix | --storage P --instance-uid UID]
                                                 [--vars FILE] [--keep DIR] [--helm HELM] [--no-usage]

--rev may be given several times (each revision is assembled once); --matrix checks every revision for storage
hostpath and longhorn, each without and with an INSTANCE_UID (lab1), and ends with a summary table (one row per
case; a table is printed whenever there is more than one case).

Kaapana 0.6.1 and later (decided from the assembled chart, not from the revision's name: it carries
charts/kaapana-storage-chart) create the StorageClasses in a release of their own, kaapana-storageclass in
kaapana-system, installed before the admin chart with global.main_node_name, replica_count, fast_data_dir and
slow_data_dir as strings (kaapanactl.sh's setup_storage_classes). For such a chart the storage subchart is checked
too (helm lint, helm template, with --kubeconfig `helm upgrade --install --dry-run=server` as kaapanactl.sh runs
it) with the values of the role's plan (plan["storage_chart_values"] when the checkout's platform_plan provides it,
else computed here the same way), and its keys against the tree's kaapanactl.sh line. For every chart the
StorageClasses the admin values name (global.storage_class_fast/slow/workflow) must be rendered by the chart that
creates classes (the admin chart up to 0.6.0, the storage chart from 0.6.1), with the data directories as pvDir,
the main node in the Longhorn classes' allowedTopologies and the replica count in kaapana-longhorn-fast-workflow.

PATH is a kaapana/kaapana checkout (work tree, used as it is) or a git directory such as the read-only mirror
(`git archive REV` is unpacked into a temporary directory). Nothing of Kaapana is kept in this repository: the chart
is assembled at run time the way Kaapana's build (build-scripts/build_helper/helm) does it:

* every Chart.yaml of the tree is indexed by chart name (the build's collect_charts; a top-level build/ is skipped);
* the platform chart and, recursively, every dependency of its requirements.yaml / Chart.yaml are copied, each
  dependency to <parent>/charts/<name> (HelmChart.build), `version:` of each Chart.yaml becomes the platform version
  (`git describe`), `repository:` lines of requirements.yaml are dropped;
* the platform chart's values.yaml gets the build's globals (HelmChart._update_values): kaapana_collections and
  preinstall_extensions from deployment_config.yaml, platform_build_branch, platform_last_commit_timestamp,
  build_timestamp and kaapana_build_version.

The values are those of the platform role for a representative inventory: roles/{common,platform}/defaults/main.yml plus
registry URL and credentials, domain kaapana.example.org, main node kaapana-main with 16000 MiB, hostpath storage,
dev mode (--vars FILE overrides kaapana_* variables or the main node's facts under `facts:`), computed by the
function the role's kaapana.platform.platform_plan action calls (plugins/plugin_utils/platform_plan.py).

Checks: `helm lint` and `helm template` with the values in a file (mode 0600, never on the command line), the
rendered manifests (empty image tags, env values that are not strings), a key-usage report (each of our keys is
changed alone and the chart rendered again: "consumed" when the manifests change; keys the admin chart ignores are
looked up in the other charts of the tree, which receive every global.* through kube-helm), a type comparison with
the build's own lint values (build-scripts/build_helper/configs/fake-values.yaml), and with --kubeconfig a
`helm install --dry-run=server` (nothing is created; manifests are never printed). Custom resources whose CRDs the
chart ships in a crds/ folder cannot be mapped in a dry run (Helm installs crds/ only for real); they are reported
and the dry run is repeated without them through a post-renderer (Helm 3: an executable; Helm 4: a postrenderer/v1
plugin in a private HELM_PLUGINS folder), as are objects that exist already and belong to another release. A dry
run does not see changes to a StorageClass's immutable fields, so a deployed kaapana-storageclass release is
compared with the rendered classes (`helm get manifest`) and a difference is reported as a conflict.

Exit status: 0 when the real chart lints and renders with our values (server-side findings that are not caused by
the values, such as API versions the cluster lacks, are printed as such); 1 when Helm rejects the values or the
rendered manifests are broken; 2 on usage or assembly errors. With several cases: the worst case's status."""
import argparse
import datetime
import glob
import json
import os
import re
import secrets
import shutil
import stat
import string
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLATFORM_CHART = "kaapana-admin-chart"
PLATFORM_CHART_DIR = "platforms/kaapana-admin-chart"
FAKE_VALUES = "build-scripts/build_helper/configs/fake-values.yaml"
STORAGE_CHART = "kaapana-storage-chart"
STORAGE_RELEASE = "kaapana-storageclass"
STORAGE_NAMESPACE = "kaapana-system"
MATRIX_PROVIDERS = ("hostpath", "longhorn")
MATRIX_UIDS = ("", "lab1")
PROBE = "zzprobe"
PROBE_CIDR = "198.51.100.0/24"
# .Values.global.x, $.Values.global.x, $global.x (a variable holding .Values.global), `condition: global.x`,
# index .Values.global "x", index $ "Values" "global" "x".
GLOBAL_REF_RE = re.compile(r'\bglobal\.([A-Za-z0-9_]+)|\bglobal"?\s+"([A-Za-z0-9_]+)"')
MAPPING_RE = re.compile(r'no matches for kind "([^"]+)" in version "([^"]+)"')
TEMPLATE_SUFFIXES = (".yaml", ".yml", ".tpl", ".txt", ".json")

# The representative inventory: what a user puts in group_vars, and the main node's facts.
INVENTORY = {
    "kaapana_registry_url": "registry.example.org/kaapana",
    "kaapana_registry_username": "kaapana-deploy",
    "kaapana_registry_password": "example-registry-token",
    "kaapana_platform_version": "0.6.0",
    "kaapana_domain": "kaapana.example.org",
    "kaapana_storage_provider": "hostpath",
    "kaapana_dev_mode": True,
}
FACTS = {
    "fqdn": "kaapana-main.example.org",
    "hostname": "kaapana-main",
    "memtotal_mb": 16000,
    "default_ipv4": {"address": "192.0.2.10"},
    "user_dir": "/home/ubuntu",
}


class CheckError(Exception):
    """A usage or assembly problem (exit 2)."""


# -- the collection's platform plan ------------------------------------------------------------------------------
def load_plugin_utils():
    """plugin_utils' platform, platform_plan and storage_provider modules of this checkout. They import each other as
    ansible_collections.kaapana.platform...: when this checkout is not on such a path (a git clone), a temporary
    folder with ansible_collections/kaapana/platform linking here is put on sys.path."""
    parts = ROOT.split(os.sep)
    if parts[-3:-1] == ["ansible_collections", "kaapana"] and parts[-1] == "platform":
        base = os.sep.join(parts[:-3])
    else:
        base = tempfile.mkdtemp(prefix="kaapana-collection-")
        os.makedirs(os.path.join(base, "ansible_collections", "kaapana"))
        os.symlink(ROOT, os.path.join(base, "ansible_collections", "kaapana", "platform"))
    if base not in sys.path:
        sys.path.insert(0, base)
    from ansible_collections.kaapana.platform.plugins.plugin_utils import platform, platform_plan
    return platform, platform_plan


def deep_merge(base, extra):
    """Ansible's combine(recursive=true): mappings merge key by key, anything else is replaced."""
    result = dict(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = value
    return result


def compute_values(overrides=None, facts=None, generated=None, storage_chart=""):
    """(values, plan): the chart values and the platform plan (plugin_utils/platform_plan.py, which the platform
    role's kaapana.platform.platform_plan action calls) for the representative inventory, a single main node whose
    facts are given, no gpu role run and no stored secret. The cluster is not read: its kubernetes endpoint is the
    host address (or facts' kubernetes_endpoint_ip), a Longhorn cluster is assumed to have two schedulable nodes,
    and the generated secrets are made here. storage_chart: the chart's kaapana-storage-chart member ('' for a
    0.6.0 chart), passed to the plan as chart.storage_chart. plan["replica_count"] is the replica count used."""
    platform, platform_plan = load_plugin_utils()
    variables = {}
    # The platform's own defaults over the shared ones of its dependency, kaapana.platform.common.
    for role in ("common", "platform"):
        with open(os.path.join(ROOT, "roles", role, "defaults", "main.yml")) as handle:
            variables.update(yaml.safe_load(handle))
    variables.update(INVENTORY)
    variables.update(overrides or {})
    node = dict(FACTS)
    node.update(facts or {})
    main_host = {"ansible_facts": node}
    plan = platform_plan.platform_plan(variables, main_host)
    check = platform.platform_domain_check(plan["domain"])
    if not check["valid"]:
        raise CheckError(check["error"])
    uid_error = platform.platform_instance_uid_check(variables.get("kaapana_instance_uid") or "")
    if uid_error:
        raise CheckError(uid_error)
    if plan["errors"]:
        raise CheckError(" ".join(plan["errors"]))
    if variables.get("kaapana_chart_ref"):
        chart = platform.platform_chart_reference(variables["kaapana_chart_ref"])
    else:
        chart = {"name": variables["kaapana_platform_name"], "registry_url": variables["kaapana_registry_url"]}
    chart["storage_chart"] = storage_chart
    replica_count = variables.get("kaapana_replica_count")
    if replica_count is None:
        replica_count = 2 if plan["longhorn"] else 1
    generated = generated or {}
    cluster = {
        "endpoint_ip": node.get("kubernetes_endpoint_ip", plan["host_ip"]),
        "replica_count": replica_count,
        "generated": {
            "oidc_client_secret": str(variables.get("kaapana_oidc_client_secret") or "")
            or generated.get("oidc_client_secret")
            or "".join(secrets.choice(string.ascii_letters + string.digits) for dummy in range(32)),
            "deployment_timestamp": generated.get("deployment_timestamp")
            or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        },
    }
    plan = platform_plan.platform_plan(variables, main_host, cluster, chart)
    plan["chart"] = chart
    plan["replica_count"] = replica_count
    return plan["chart_values"], plan


def storage_values(plan, values):
    """(values of the kaapana-storageclass release, source): the plan's storage_chart_values when the checkout's
    platform_plan computes them ("role"), else the same as kaapanactl.sh 0.6.1 passes them, taken from the admin
    values (whose data directories already carry the INSTANCE_UID suffix) and the plan's replica count
    ("script"). Every value is a string (--set-string)."""
    if plan.get("storage_chart_values"):
        return plan["storage_chart_values"], "role"
    g = values.get("global", {})
    return {"global": {
        "main_node_name": str(g.get("main_node_name", "")),
        "replica_count": str(plan.get("replica_count", 1)),
        "fast_data_dir": str(g.get("fast_data_dir", "")),
        "slow_data_dir": str(g.get("slow_data_dir", "")),
    }}, "script"


# -- files --------------------------------------------------------------------------------------------------------
def write_values(path, values):
    """Write a values file readable by the owner only (0600), created that way (no window with wider rights)."""
    if os.path.lexists(path):
        os.unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        yaml.safe_dump(values, handle, default_flow_style=False, sort_keys=True)
    os.chmod(path, 0o600)
    return path


def secret_strings(values, platform=None):
    """The credentials of the values to be masked in anything printed: every non-empty one except Kaapana's
    published defaults (admin, kaapana, Kaapana2020 ...), which are no secret and would mask ordinary words."""
    platform = platform or load_plugin_utils()[0]
    published = set(str(v) for v in platform.SETTINGS.values() if isinstance(v, str)) | {"kaapana", "Kaapana2020!"}
    found = []

    def walk(node, key=None):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif key is not None and node not in ("", None) and (
                key in platform.SECRET_KEYS or platform.SECRET_NAME_RE.search(str(key))):
            if str(node) not in published:
                found.append(str(node))
    walk(values)
    return sorted(set(found), key=len, reverse=True)


def mask(text, secret_values):
    for value in secret_values:
        if len(value) >= 4:
            text = text.replace(value, "********")
    return text


# -- Kaapana's tree and the chart assembly ------------------------------------------------------------------------
def _git(git_args, cwd=None, git_dir=None, check=True):
    cmd = ["git"] + (["--git-dir", git_dir] if git_dir else []) + git_args
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if check and proc.returncode != 0:
        raise CheckError("%s failed: %s" % (" ".join(cmd), proc.stderr.decode(errors="replace").strip()))
    return proc.stdout.decode(errors="replace").strip() if proc.returncode == 0 else ""


def is_git_dir(path):
    return (os.path.isfile(os.path.join(path, "HEAD")) and os.path.isdir(os.path.join(path, "objects"))
            and not os.path.exists(os.path.join(path, ".git")))


def open_tree(path, rev, workdir):
    """(root of the source tree, git dir or None): a work tree as it is, a git directory unpacked at rev."""
    path = os.path.abspath(path)
    if not os.path.isdir(path):
        raise CheckError("--kaapana-repo %s is not a directory" % path)
    if is_git_dir(path):
        root = os.path.join(workdir, "kaapana")
        os.makedirs(root)
        archive = subprocess.Popen(["git", "--git-dir", path, "archive", "--format=tar", rev],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        untar = subprocess.run(["tar", "-x", "--no-same-owner", "-C", root], stdin=archive.stdout,
                               stderr=subprocess.PIPE, check=False)
        archive.stdout.close()
        error = archive.stderr.read().decode(errors="replace")
        if archive.wait() != 0 or untar.returncode != 0:
            raise CheckError("git archive %s of %s failed: %s%s" % (rev, path, error,
                                                                    untar.stderr.decode(errors="replace")))
        return root, path
    if not os.path.isdir(os.path.join(path, "platforms")):
        raise CheckError("%s is neither a kaapana/kaapana checkout (no platforms/) nor a git directory" % path)
    git_dir = _git(["rev-parse", "--absolute-git-dir"], cwd=path, check=False) or None
    return path, git_dir


def build_info(git_dir, rev):
    """Version, branch and commit time as the build's GitUtils.get_repo_info (`git describe`)."""
    if not git_dir:
        return {"version": "0.0.0-check", "branch": "unknown", "timestamp": ""}
    version = (_git(["describe", rev], git_dir=git_dir, check=False)
               or _git(["describe", "--tags", rev], git_dir=git_dir, check=False)
               or "0.0.0-" + _git(["rev-parse", "--short", rev], git_dir=git_dir))
    branch = _git(["rev-parse", "--abbrev-ref", rev], git_dir=git_dir, check=False)
    timestamp = _git(["log", "-1", "--format=%cI", rev], git_dir=git_dir, check=False)
    return {"version": version, "branch": "DETACHED-HEAD" if branch in ("", "HEAD") else branch,
            "timestamp": timestamp}


def _load_yaml(path):
    if not os.path.isfile(path):
        return None
    with open(path) as handle:
        docs = [d for d in yaml.safe_load_all(handle) if d]
    return docs[0] if docs else None


def index_charts(root):
    """{chart name: directory} of every Chart.yaml below root (the build's collect_charts)."""
    charts, duplicates = {}, []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in (".git", "node_modules")
                             and not (dirpath == root and d == "build"))
        if "Chart.yaml" in filenames:
            meta = _load_yaml(os.path.join(dirpath, "Chart.yaml")) or {}
            name = meta.get("name")
            if not name:
                continue
            if name in charts:
                duplicates.append("%s (%s and %s)" % (name, charts[name], dirpath))
                continue
            charts[name] = dirpath
    if duplicates:
        raise CheckError("charts with the same name, the build would reject them: %s" % "; ".join(duplicates))
    return charts


def chart_dependencies(chart_dir):
    names = []
    for filename in ("Chart.yaml", "requirements.yaml"):
        data = _load_yaml(os.path.join(chart_dir, filename)) or {}
        for dep in data.get("dependencies") or []:
            if dep.get("name") and dep["name"] not in names:
                names.append(dep["name"])
    return names


def _set_chart_version(chart_dir, version):
    path = os.path.join(chart_dir, "Chart.yaml")
    with open(path) as handle:
        lines = handle.readlines()
    with open(path, "w") as handle:
        for line in lines:
            handle.write('version: "%s"\n' % version if line.startswith("version:") else line)


def _drop_repositories(chart_dir):
    path = os.path.join(chart_dir, "requirements.yaml")
    if os.path.isfile(path):
        with open(path) as handle:
            lines = handle.readlines()
        with open(path, "w") as handle:
            handle.writelines(line for line in lines if "repository:" not in line)


def _platform_globals(chart_dir, charts, info):
    """HelmChart._update_values: the build's globals of a platform chart."""
    config = _load_yaml(os.path.join(chart_dir, "deployment_config.yaml")) or {}

    def names(key):
        return [e["name"] for e in config.get(key) or [] if isinstance(e, dict) and e.get("name")]

    missing = [n for n in names("kaapana_collections") + names("preinstall_extensions") if n not in charts]
    if missing:
        raise CheckError("deployment_config.yaml names charts that are not in the tree: %s" % ", ".join(missing))
    return {
        "kaapana_collections": [{"name": n, "version": info["version"]} for n in names("kaapana_collections")],
        "preinstall_extensions": [{"name": n, "version": info["version"]} for n in names("preinstall_extensions")],
        "platform_build_branch": info["branch"],
        "platform_last_commit_timestamp": info["timestamp"],
        "build_timestamp": datetime.datetime.now().astimezone().replace(microsecond=0).isoformat(),
        "kaapana_build_version": info["version"],
    }


def assemble_chart(charts, name, target, info, stack=()):
    """Copy chart `name` and its dependencies (recursively, to charts/<dep>) into target, as HelmChart.build."""
    if name not in charts:
        raise CheckError("chart %s (needed by %s) is not in the tree" % (name, " -> ".join(stack) or "the check"))
    if name in stack:
        raise CheckError("dependency cycle: %s" % " -> ".join(stack + (name,)))
    source = charts[name]
    shutil.copytree(source, target, symlinks=False, dirs_exist_ok=True)
    _set_chart_version(target, info["version"])
    _drop_repositories(target)
    meta = _load_yaml(os.path.join(source, "Chart.yaml")) or {}
    if str(meta.get("kaapana_type", "")).lower() == "platform":
        values_path = os.path.join(target, "values.yaml")
        values = _load_yaml(values_path) or {}
        values.setdefault("global", {}).update(_platform_globals(source, charts, info))
        with open(values_path, "w") as handle:
            yaml.safe_dump(values, handle, default_flow_style=False)
    for dep in chart_dependencies(source):
        assemble_chart(charts, dep, os.path.join(target, "charts", dep), info, stack + (name,))
    return target


# -- the reports (pure) -------------------------------------------------------------------------------------------
def leaf_paths(values, prefix=()):
    """Paths of the leaves of a values dict (lists are leaves)."""
    paths = []
    for key in sorted(values):
        value = values[key]
        if isinstance(value, dict) and value:
            paths.extend(leaf_paths(value, prefix + (key,)))
        else:
            paths.append(prefix + (key,))
    return paths


def get_path(values, path):
    for key in path:
        values = values[key]
    return values


def set_path(values, path, value):
    """A deep copy of values with the leaf at path replaced."""
    result = json.loads(json.dumps(values))
    node = result
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return result


def perturb(value):
    """A different value of the same type (to see whether the chart's output depends on the leaf)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, list):
        return list(value) + [PROBE_CIDR]
    if isinstance(value, int):
        return value + 7
    text = "" if value is None else str(value)
    return text + "-" + PROBE if text else PROBE


def volatile_lines(renders):
    """{line index: stable prefix} of the lines that differ between renders of the same values (the chart's
    randAlphaNum secrets and names); the prefix is the common part up to its last space, quote, '=' or ':'.
    None when the renders do not even have the same number of lines (nothing can be compared then)."""
    split = [r.splitlines() for r in renders]
    if len({len(lines) for lines in split}) != 1:
        return None
    volatile = {}
    for index, variants in enumerate(zip(*split)):
        if len(set(variants)) > 1:
            prefix = os.path.commonprefix(list(variants))
            cut = max(prefix.rfind(c) for c in " \"'=:")
            volatile[index] = prefix[:cut + 1]
    return volatile


def render_differs(baseline, volatile, other):
    """Whether other differs from baseline outside the volatile lines (only their stable prefixes count)."""
    old, new = baseline.splitlines(), other.splitlines()
    if len(old) != len(new):
        return True
    for index, (a, b) in enumerate(zip(old, new)):
        if a == b:
            continue
        if index not in volatile or not b.startswith(volatile[index]):
            return True
    return False


def global_references(directory, exclude=()):
    """{global key: set of chart names} of the keys the charts below directory read: references in templates,
    requirements.yaml / Chart.yaml conditions (see GLOBAL_REF_RE) and keys a chart declares under
    `extension_params:` in its values.yaml (kube-helm passes those as global.<key> when it installs the chart)."""
    refs = {}
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = [d for d in dirnames if d not in (".git", "node_modules")
                       and os.path.join(dirpath, d) not in exclude]
        chart = None
        for filename in filenames:
            if not filename.endswith(TEMPLATE_SUFFIXES):
                continue
            path = os.path.join(dirpath, filename)
            chart = chart or _chart_of(dirpath, directory)
            if filename == "values.yaml":
                try:
                    data = _load_yaml(path) or {}
                except yaml.YAMLError:
                    continue
                params = data.get("extension_params") if isinstance(data, dict) else None
                for key in params if isinstance(params, dict) else ():
                    refs.setdefault(key, set()).add("%s (extension_params)" % chart)
                continue
            try:
                with open(path, errors="replace") as handle:
                    text = handle.read()
            except OSError:
                continue
            for match in GLOBAL_REF_RE.finditer(text):
                refs.setdefault(match.group(1) or match.group(2), set()).add(chart)
    return refs


def _chart_of(dirpath, top):
    path = dirpath
    while True:
        meta = os.path.join(path, "Chart.yaml")
        if os.path.isfile(meta):
            return (_load_yaml(meta) or {}).get("name") or os.path.basename(path)
        if os.path.abspath(path) == os.path.abspath(top) or os.path.dirname(path) == path:
            return "(none)"
        path = os.path.dirname(path)


def usage_report(paths, changed, failed, admin_refs, other_refs):
    """Classify each of our keys. changed: paths whose perturbation changed the manifests; failed: {path: error}
    for those whose perturbation broke the rendering; admin_refs/other_refs: global_references() of the assembled
    chart and of the other charts of the tree. Returns {category: [(dotted key, note)]} with the categories
    consumed (the manifests depend on it), conditional (the admin chart reads it, no effect in this
    configuration), forwarded (only other charts read it; kube-helm passes every global.* of the release on) and
    ignored (nothing in the tree reads it)."""
    report = {"consumed": [], "conditional": [], "forwarded": [], "ignored": []}
    for path in paths:
        key = ".".join(path)
        leaf = path[-1] if path[0] == "global" and len(path) == 2 else None
        if path in failed:
            report["consumed"].append((key, "rendering fails when it changes: %s" % failed[path]))
        elif path in changed:
            report["consumed"].append((key, ""))
        elif leaf and leaf in admin_refs:
            report["conditional"].append((key, "read by %s" % _names(admin_refs[leaf])))
        elif leaf and leaf in other_refs:
            report["forwarded"].append((key, "read by %s" % _names(other_refs[leaf])))
        else:
            report["ignored"].append((key, ""))
    return report


def _names(names, limit=4):
    names = sorted(names)
    more = " and %d more" % (len(names) - limit) if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def unset_references(admin_refs, values, chart_defaults):
    """Global keys the assembled chart reads that neither our values nor any values.yaml of it set."""
    ours = set(values.get("global", {}))
    return sorted(k for k in admin_refs if k not in ours and k not in chart_defaults)


def type_mismatches(values, reference):
    """[(dotted key, our type, reference type)] where both define a leaf and the YAML types differ."""
    def kind(value):
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int):
            return "int"
        if isinstance(value, (list, tuple)):
            return "list"
        if isinstance(value, dict):
            return "map"
        return "null" if value is None else "string"
    result = []
    for path in leaf_paths(values):
        try:
            ref = get_path(reference, path)
        except (KeyError, TypeError):
            continue
        if kind(get_path(values, path)) != kind(ref):
            result.append((".".join(path), kind(get_path(values, path)), kind(ref)))
    return result


def script_interface(text):
    """{dotted key: "set" | "set-string"} of the platform chart's `$HELM_INSTALL_CMD $CHART_PATH ... --name-template`
    line of a kaapanactl.sh (commented lines skipped); {} when the script has no such line."""
    start = text.find("$HELM_INSTALL_CMD $CHART_PATH")
    end = text.find("--name-template", start)
    if start < 0 or end < 0:
        return {}
    interface = {}
    for line in text[start:end].splitlines():
        if line.strip().startswith("#"):
            continue
        for kind, key, raw in re.findall(r"--(set-string|set)\s+([\w.-]+)=(\S*)", line):
            interface[key] = "list" if kind == "set" and raw.strip('"').startswith("{") else kind
    return interface


def interface_differences(values, interface):
    """Differences between our values and a kaapanactl.sh line (script_interface): keys only one side has, and
    keys the script passes with --set-string (a string) or as {a,b} (a list) that we pass with another type."""
    ours = {".".join(p): get_path(values, p) for p in leaf_paths(values)}
    result = ["the script passes %s, we do not" % k for k in sorted(set(interface) - set(ours))]
    result += ["we pass %s, the script does not" % k for k in sorted(set(ours) - set(interface))]
    for key in sorted(set(ours) & set(interface)):
        want = {"set-string": str, "list": list}.get(interface[key])
        if want and not isinstance(ours[key], want):
            result.append("%s: the script passes a %s, we a %s" % (key, "string" if want is str else "list",
                                                                   type(ours[key]).__name__))
    return result


def storage_script_interface(text):
    """{dotted key: "set" | "set-string"} of kaapanactl.sh's `upgrade --install kaapana-storageclass` line
    (0.6.1's setup_storage_classes); {} when the script has none (0.6.0)."""
    start = text.find("upgrade --install %s" % STORAGE_RELEASE)
    if start < 0:
        return {}
    interface = {}
    for line in text[start:].splitlines()[:20]:
        if line.strip().startswith("#"):
            continue
        for kind, key in re.findall(r"--(set-string|set)\s+([\w.-]+)=", line):
            interface[key] = kind
        if not line.rstrip().endswith("\\"):
            break
    return interface


def storage_subchart(chart_dir):
    """The assembled chart's kaapana-storage-chart folder ('' when it has none: a 0.6.0 chart)."""
    path = os.path.join(chart_dir, "charts", STORAGE_CHART)
    return path if os.path.isfile(os.path.join(path, "Chart.yaml")) else ""


def storage_classes(text):
    """{name: {provisioner, parameters, topology (the allowed kubernetes.io/hostname values)}} of the
    StorageClasses in rendered manifests."""
    classes = {}
    for doc in yaml.safe_load_all(text or ""):
        if not isinstance(doc, dict) or doc.get("kind") != "StorageClass":
            continue
        hosts = []
        for term in doc.get("allowedTopologies") or []:
            for expr in (term or {}).get("matchLabelExpressions") or []:
                if expr.get("key") == "kubernetes.io/hostname":
                    hosts.extend(str(v) for v in expr.get("values") or [])
        classes[(doc.get("metadata") or {}).get("name")] = {
            "provisioner": doc.get("provisioner"), "parameters": doc.get("parameters") or {}, "topology": hosts}
    return classes


def storage_class_problems(values, classes, replica_count):
    """What is wrong with the StorageClasses a chart renders (storage_classes()) for the admin values: a class the
    values name (global.storage_class_fast/slow/workflow) that is not rendered, a hostpath class whose pvDir is not
    the data directory, a Longhorn class pinned to another node than global.main_node_name, and
    kaapana-longhorn-fast-workflow without the replica count."""
    g = values.get("global", {})
    problems = []
    for key in ("storage_class_fast", "storage_class_slow", "storage_class_workflow"):
        name = g.get(key)
        if name and name not in classes:
            problems.append("global.%s names %s, which the chart does not create" % (key, name))
    dirs = {"kaapana-hostpath-fast-data-dir": g.get("fast_data_dir"),
            "kaapana-hostpath-slow-data-dir": g.get("slow_data_dir")}
    for name, want in sorted(dirs.items()):
        have = (classes.get(name) or {}).get("parameters", {}).get("pvDir")
        if name in classes and str(have) != str(want):
            problems.append("%s has pvDir %r, the data directory is %r" % (name, have, want))
    for name in ("kaapana-longhorn-fast-db", "kaapana-longhorn-slow-data"):
        if name in classes and classes[name]["topology"] != [str(g.get("main_node_name"))]:
            problems.append("%s is pinned to %s, the main node is %r" % (
                name, classes[name]["topology"], g.get("main_node_name")))
    workflow = classes.get("kaapana-longhorn-fast-workflow")
    if workflow and str(workflow["parameters"].get("numberOfReplicas")) != str(replica_count):
        problems.append("kaapana-longhorn-fast-workflow has numberOfReplicas %r, the replica count is %r" % (
            workflow["parameters"].get("numberOfReplicas"), str(replica_count)))
    return problems


def storage_class_changes(deployed, rendered):
    """What an upgrade would change in StorageClasses that Kubernetes cannot update in place (provisioner,
    parameters; allowedTopologies as recorded by storage_classes()): [text], for classes in both."""
    changes = []
    for name in sorted(set(deployed) & set(rendered)):
        old, new = deployed[name], rendered[name]
        if old["provisioner"] != new["provisioner"]:
            changes.append("%s: provisioner %s -> %s" % (name, old["provisioner"], new["provisioner"]))
        for key in sorted(set(old["parameters"]) | set(new["parameters"])):
            a, b = old["parameters"].get(key), new["parameters"].get(key)
            if str(a) != str(b):
                changes.append("%s: %s %r -> %r" % (name, key, a, b))
        if old["topology"] != new["topology"]:
            changes.append("%s: allowed hosts %s -> %s" % (name, old["topology"], new["topology"]))
    return changes


def cases(revs, matrix=False, storage=None, instance_uid=None):
    """[(rev, storage provider or None, instance uid or None)]: every revision with the matrix (hostpath and
    longhorn, each without and with an INSTANCE_UID) or with the one given (None: the inventory's)."""
    variants = [(p, u) for p in MATRIX_PROVIDERS for u in MATRIX_UIDS] if matrix else [(storage, instance_uid)]
    return [(rev, p, u) for rev in revs or ["HEAD"] for p, u in variants]


def summary_table(rows, columns):
    """A plain-text table: columns [(key, title)], rows dicts (missing cells '-')."""
    cells = [[title for dummy, title in columns]] + [[str(row.get(k, "-")) for k, dummy in columns]
                                                     for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def manifest_problems(text):
    """Problems of rendered manifests that Kubernetes or the kubelet would reject: documents without kind or
    name, images with an empty repository or tag, env values that are not strings."""
    problems = []
    for doc in yaml.safe_load_all(text):
        if not isinstance(doc, dict):
            continue
        kind = doc.get("kind")
        name = (doc.get("metadata") or {}).get("name")
        where = "%s/%s" % (kind, name)
        if not kind or not doc.get("apiVersion") or not name:
            problems.append("%s: a document without apiVersion, kind or metadata.name" % where)
        for container in _containers(doc):
            image = str(container.get("image", ""))
            if not image or image.endswith(":") or image.startswith("/") or "//" in image:
                problems.append("%s: container %s has the image %r" % (where, container.get("name"), image))
            for env in container.get("env") or []:
                if "value" in env and not isinstance(env["value"], str) and env["value"] is not None:
                    problems.append("%s: container %s env %s is %s %r, not a string"
                                    % (where, container.get("name"), env.get("name"), type(env["value"]).__name__,
                                       env["value"]))
    return problems


def _containers(doc):
    spec = doc.get("spec") or {}
    pod = ((spec.get("template") or {}).get("spec")) or ((((spec.get("jobTemplate") or {}).get("spec") or {})
                                                          .get("template") or {}).get("spec"))
    if doc.get("kind") == "Pod":
        pod = spec
    pod = pod or {}
    return list(pod.get("containers") or []) + list(pod.get("initContainers") or [])


def chart_crd_kinds(chart_dir):
    """{(group, kind)} of the CRDs shipped in the crds/ folders of the chart and its subcharts."""
    kinds = set()
    for path in glob.glob(os.path.join(chart_dir, "**", "crds", "*"), recursive=True):
        if not os.path.isfile(path):
            continue
        with open(path, errors="replace") as handle:
            for doc in yaml.safe_load_all(handle):
                if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                    spec = doc.get("spec") or {}
                    kinds.add((spec.get("group"), (spec.get("names") or {}).get("kind")))
    return kinds


def classify_server_error(stderr, crd_kinds):
    """(shipped, missing_apis, other): kinds whose CRD the chart ships (not installed in a dry run), kinds of API
    versions the cluster does not serve, and the rest of the error (empty when fully explained)."""
    # Helm 4 logs warnings (level=WARN msg="This chart ... contains CRDs ...") before the error.
    stderr = "\n".join(line for line in stderr.splitlines() if not re.match(r"level=(WARN|INFO|DEBUG)\b", line))
    shipped, missing = [], []
    for kind, version in MAPPING_RE.findall(stderr):
        group = version.split("/")[0] if "/" in version else ""
        (shipped if (group, kind) in crd_kinds else missing).append("%s %s" % (version, kind))
    rest = stderr
    if shipped or missing:
        rest = re.sub(r'resource mapping not found for name: "[^"]*" namespace: "[^"]*" from "[^"]*": '
                      r'no matches for kind "[^"]+" in version "[^"]+"\s*(ensure CRDs are installed first)?', "", rest)
        rest = re.sub(r"Error: INSTALLATION FAILED: unable to build kubernetes objects from release manifest:", "",
                      rest)
        rest = rest.replace("[", "").replace("]", "").replace(",", "").strip()
    return sorted(set(shipped)), sorted(set(missing)), rest.strip()


OWNERSHIP_RE = re.compile(r'(\w+) "([^"]+)" in namespace "([^"]*)" exists and cannot be imported into the current '
                          r'release')
OWNER_RE = re.compile(r'key "meta\.helm\.sh/release-name" must equal "[^"]*": current value is "([^"]*)"')


def ownership_conflicts(stderr):
    """[{kind, name, namespace, owner}] of the objects Helm refuses because they exist and belong to another
    release (owner: its meta.helm.sh/release-name, '' when the object has none)."""
    found = []
    matches = list(OWNERSHIP_RE.finditer(stderr))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(stderr)
        owner = OWNER_RE.search(stderr, match.end(), end)
        found.append({"kind": match.group(1), "name": match.group(2), "namespace": match.group(3),
                      "owner": owner.group(1) if owner else ""})
    return found


POST_RENDERER = '''#!%(python)s
"""Helm post-renderer: leave out the objects of the given (apiVersion, kind) pairs."""
import sys
import yaml
DROP = set(%(drop)r)
kept = [d for d in yaml.safe_load_all(sys.stdin)
        if isinstance(d, dict) and (d.get("apiVersion"), d.get("kind")) not in DROP]
sys.stdout.write(yaml.safe_dump_all(kept, default_flow_style=False))
'''


POST_RENDERER_PLUGIN = "kaapana-drop-objects"


def write_post_renderer(path, drop):
    """An executable post-renderer that drops the objects whose (apiVersion, kind) is in drop."""
    with open(path, "w") as handle:
        handle.write(POST_RENDERER % {"python": sys.executable, "drop": sorted(tuple(k) for k in drop)})
    os.chmod(path, stat.S_IRWXU)
    return path


def post_renderer_args(helm, workdir, drop):
    """(helm arguments, environment) that drop the given kinds: Helm 3 takes the executable's path as
    --post-renderer; Helm 4 takes only the name of a postrenderer/v1 plugin, so the executable is wrapped in one in
    a private plugins folder named by HELM_PLUGINS."""
    executable = write_post_renderer(os.path.join(workdir, "drop-unmappable-objects"), drop)
    if helm.major() < 4:
        return ["--post-renderer", executable], {}
    plugins = os.path.join(workdir, "helm-plugins")
    folder = os.path.join(plugins, POST_RENDERER_PLUGIN)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "plugin.yaml"), "w") as handle:
        yaml.safe_dump({"apiVersion": "v1", "name": POST_RENDERER_PLUGIN, "version": "0.1.0",
                        "type": "postrenderer/v1", "runtime": "subprocess",
                        "runtimeConfig": {"platformCommand": [{"command": executable}]}}, handle)
    return ["--post-renderer", POST_RENDERER_PLUGIN], {"HELM_PLUGINS": plugins}


# -- helm ---------------------------------------------------------------------------------------------------------
def find_helm(explicit=None):
    if explicit:
        return explicit
    if os.environ.get("HELM"):
        return os.environ["HELM"]
    lab = sorted(glob.glob("/var/cache/kaapana-lab/helm-v*/bin/helm"))
    if lab:
        return lab[-1]
    found = shutil.which("helm")
    if not found:
        raise CheckError("no helm found: pass --helm or set HELM")
    return found


class Helm(object):
    def __init__(self, binary, secret_values, env=None):
        self.binary, self.secret_values = binary, secret_values
        self.env = dict(os.environ, **(env or {}))

    def major(self):
        """Helm's major version (3 when `helm version` does not say)."""
        if getattr(self, "_major", None) is None:
            code, out, dummy = self.run(["version", "--template", "{{.Version}}"])
            match = re.match(r"v?(\d+)\.", out.strip()) if code == 0 else None
            self._major = int(match.group(1)) if match else 3
        return self._major

    def run(self, args, timeout=300, env=None):
        proc = subprocess.run([self.binary] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=dict(self.env, **(env or {})), timeout=timeout, check=False)
        return (proc.returncode, proc.stdout.decode(errors="replace"),
                mask(proc.stderr.decode(errors="replace"), self.secret_values))


def say(text=""):
    print(text)
    sys.stdout.flush()


def _short(text, limit=600):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + " ..."


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kaapana-repo", required=True, help="kaapana/kaapana checkout or git directory")
    parser.add_argument("--rev", action="append", help="revision of a git directory (default HEAD); repeat it to "
                                                       "check several")
    parser.add_argument("--matrix", action="store_true", help="check storage hostpath and longhorn, each without "
                                                              "and with an INSTANCE_UID (lab1)")
    parser.add_argument("--storage", choices=MATRIX_PROVIDERS, help="storage provider (default: the inventory's)")
    parser.add_argument("--instance-uid", help="INSTANCE_UID (default: the inventory's, none)")
    parser.add_argument("--kubeconfig", help="also run helm install --dry-run=server against this cluster")
    parser.add_argument("--namespace", help="release namespace (default: the role's kaapana_helm_namespace)")
    parser.add_argument("--vars", help="YAML file of kaapana_* variables (and `facts:` of the main node) that "
                                       "override the representative inventory")
    parser.add_argument("--helm", help="helm binary (default: $HELM, the lab's helm, helm on PATH)")
    parser.add_argument("--keep", help="copy the assembled chart (without values) to this directory")
    parser.add_argument("--no-usage", action="store_true", help="skip the per-key usage probe (by default it runs "
                                                                "for the first case of each revision)")
    args = parser.parse_args(argv)
    if args.matrix and (args.storage or args.instance_uid is not None):
        parser.error("--matrix checks every storage provider and INSTANCE_UID: leave out --storage/--instance-uid")
    return args


def main(argv=None):
    args = _parse(argv)
    try:
        return _main(args)
    except CheckError as exc:
        say("ERROR: %s" % exc)
        return 2
    except BrokenPipeError:  # the output went to a pager or `head` that quit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


SUMMARY_COLUMNS = [("rev", "rev"), ("version", "version"), ("shape", "chart"), ("storage", "storage"),
                   ("uid", "uid"), ("admin", "admin lint/template"), ("storage_chart", "storage chart"),
                   ("classes", "classes"), ("replica", "admin replica_count"), ("script", "vs kaapanactl"),
                   ("server", "server dry run"), ("result", "result")]


def _main(args):
    overrides, facts = {}, {}
    if args.vars:
        overrides = _load_yaml(args.vars) or {}
        facts = overrides.pop("facts", {}) or {}
    helm_binary = find_helm(args.helm)
    todo = cases(args.rev, args.matrix, args.storage, args.instance_uid)
    revs = []
    for rev, dummy, dummy in todo:
        if rev not in revs:
            revs.append(rev)
    single = len(todo) == 1
    rows, worst = [], 0
    for rev in revs:
        workdir = tempfile.mkdtemp(prefix="kaapana-real-chart-")
        os.chmod(workdir, 0o700)
        try:
            try:
                tree = _prepare(args, rev, workdir, len(revs) > 1)
            except CheckError as exc:
                if single:
                    raise
                say("ERROR: %s" % exc)
                rows.append({"rev": rev, "result": "ERROR (%s)" % _short(str(exc), 60)})
                worst = max(worst, 2)
                continue
            first = True
            for dummy, provider, uid in [c for c in todo if c[0] == rev]:
                try:
                    row = _check_case(args, helm_binary, tree, provider, uid, overrides, facts,
                                      usage=first and not args.no_usage, single=single)
                except CheckError as exc:
                    if single:
                        raise
                    say("ERROR: %s" % exc)
                    row = {"rev": rev, "storage": provider or "-", "uid": uid or "-", "code": 2,
                           "result": "ERROR (%s)" % _short(str(exc), 60)}
                first = False
                rows.append(row)
                worst = max(worst, row.get("code", 2))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    if not single:
        say("")
        say("Summary (%s; helm %s%s):" % (args.kaapana_repo, helm_binary,
                                          "; server dry run against %s" % args.kubeconfig if args.kubeconfig
                                          else "; no --kubeconfig: no server dry run"))
        say(summary_table(rows, SUMMARY_COLUMNS))
    return worst


def _prepare(args, rev, workdir, several):
    """Unpack and assemble the tree at rev once: {rev, root, info, charts, chart_dir, storage_dir, workdir}."""
    root, git_dir = open_tree(args.kaapana_repo, rev, workdir)
    info = build_info(git_dir, rev)
    charts = index_charts(root)
    if PLATFORM_CHART not in charts:
        raise CheckError("no chart named %s in %s" % (PLATFORM_CHART, args.kaapana_repo))
    chart_dir = assemble_chart(charts, PLATFORM_CHART, os.path.join(workdir, "chart", PLATFORM_CHART), info)
    subcharts = [p for p in glob.glob(os.path.join(chart_dir, "**", "charts", "*"), recursive=True)
                 if os.path.isdir(p)]
    storage_dir = storage_subchart(chart_dir)
    say("")
    say("Kaapana %s (%s, branch %s): %s assembled with %d subcharts from %d charts of the tree; %s"
        % (args.kaapana_repo, info["version"], info["branch"], PLATFORM_CHART, len(subcharts), len(charts),
           "it carries charts/%s (0.6.1+: StorageClasses in the release %s in %s)"
           % (STORAGE_CHART, STORAGE_RELEASE, STORAGE_NAMESPACE) if storage_dir
           else "no charts/%s (0.6.0: the admin chart creates the StorageClasses)" % STORAGE_CHART))
    if args.keep:
        keep = os.path.join(args.keep, re.sub(r"[^\w.-]+", "_", rev)) if several else args.keep
        shutil.copytree(chart_dir, os.path.join(keep, PLATFORM_CHART), dirs_exist_ok=True)
        say("  assembled chart copied to %s" % os.path.join(keep, PLATFORM_CHART))
    return {"rev": rev, "root": root, "info": info, "charts": charts, "chart_dir": chart_dir,
            "storage_dir": storage_dir, "workdir": workdir}


def _check_case(args, helm_binary, tree, provider, uid, overrides, facts, usage=True, single=True):
    """One revision with one storage provider and INSTANCE_UID: the checks, printed; returns the summary row
    (with code: 0 ok, 1 failures)."""
    case_overrides = dict(overrides)
    if provider is not None:
        case_overrides["kaapana_storage_provider"] = provider
    if uid is not None:
        case_overrides["kaapana_instance_uid"] = uid
    chart_dir, storage_dir, root, workdir = tree["chart_dir"], tree["storage_dir"], tree["root"], tree["workdir"]
    values, plan = compute_values(case_overrides, facts,
                                  storage_chart=("%s/charts/%s" % (PLATFORM_CHART, STORAGE_CHART)
                                                 if storage_dir else ""))
    g = values["global"]
    provider_name = "longhorn" if plan["longhorn"] else "hostpath"
    row = {"rev": tree["rev"], "version": tree["info"]["version"],
           "shape": "0.6.1+ storage chart" if storage_dir else "0.6.0 classes in admin",
           "storage": provider_name, "uid": g.get("instance_uid") or "-"}
    if not single:
        say("")
        say("== %s | storage %s | INSTANCE_UID %s ==" % (tree["rev"], provider_name, g.get("instance_uid") or "(none)"))
    hidden = secret_strings(values)
    helm = Helm(helm_binary, hidden)
    namespace = args.namespace or plan["layout"]["helm_namespace"]
    release = plan["chart"]["name"]
    failures, notes = [], []

    values_file = write_values(os.path.join(workdir, "values.yaml"), values)
    say("Values: %d global keys + %s, written to a 0600 file (credentials masked below); release %s in %s"
        % (len(g), ", ".join(sorted(k for k in values if k != "global")), release, namespace))

    code, out, err = helm.run(["lint", chart_dir, "--values", values_file])
    lint_ok = code == 0
    lint_lines = [ln for ln in (out + err).splitlines() if ln.startswith(("[ERROR]", "[WARNING]", "Error"))]
    say("helm lint: %s" % ("ok" if lint_ok else "FAILED"))
    for line in lint_lines:
        say("  " + mask(line, hidden))
    if not lint_ok:
        failures.append("helm lint rejects the values: %s" % _short(mask(out + err, hidden)))

    template_code, manifests, err = helm.run(["template", release, chart_dir, "-n", namespace,
                                              "--values", values_file])
    objects = 0
    if template_code != 0:
        failures.append("helm template fails with our values: %s" % _short(err))
        say("helm template: FAILED\n  %s" % _short(err, 2000))
    else:
        docs = [d for d in yaml.safe_load_all(manifests) if isinstance(d, dict)]
        objects = len(docs)
        kinds = sorted({"%s %s" % (d.get("apiVersion"), d.get("kind")) for d in docs})
        say("helm template: ok, %d objects (%s)" % (len(docs), "; ".join(kinds)))
        problems = manifest_problems(manifests)
        for problem in problems:
            say("  BROKEN: " + mask(problem, hidden))
        if problems:
            failures.append("the rendered manifests are broken (%d problems above)" % len(problems))
    row["admin"] = "%s/%s" % ("ok" if lint_ok else "FAIL", "%d obj" % objects if template_code == 0 else "FAIL")

    admin_refs = global_references(chart_dir)
    closure = _closure(tree["charts"], PLATFORM_CHART)
    other_refs = global_references(root, exclude=set(tree["charts"][n] for n in closure))
    defaults = _chart_global_defaults(chart_dir)
    if usage and template_code == 0:
        _usage(helm, chart_dir, release, namespace, values, values_file, manifests, workdir, admin_refs, other_refs)
    unset = unset_references(admin_refs, values, defaults)
    if unset:
        say("Globals the chart reads that neither we nor its values.yaml files set (render empty): %s"
            % ", ".join(unset))
    fake = _load_yaml(os.path.join(root, FAKE_VALUES))
    if fake:
        diffs = type_mismatches(values, fake)
        missing = sorted(set(fake.get("global", {})) - set(g) - set(defaults))
        say("Types against the values the build lints the chart with (%s; informational, kaapanactl.sh's line "
            "below decides): %s" % (FAKE_VALUES, "same" if not diffs else "; ".join(
                "%s ours %s, build %s" % d for d in diffs)))
        if missing:
            say("  keys of the build's lint values we do not set: %s" % ", ".join(missing))

    script_text, script_diffs = "", None
    for script in ("kaapanactl.sh", "platforms/deploy_platform_template.sh"):
        if os.path.isfile(os.path.join(root, script)):
            with open(os.path.join(root, script), errors="replace") as handle:
                text = handle.read()
            interface = script_interface(text)
            if interface:
                script_text = text
                script_diffs = interface_differences(values, interface)
                say("Against the tree's %s helm install line (%d keys): %s" % (
                    script, len(interface), "same keys and types" if not script_diffs else "; ".join(script_diffs)))
                break
    row["script"] = "same" if script_diffs == [] else ("-" if script_diffs is None else
                                                       "%d diff" % len(script_diffs))
    row["replica"] = "passed" if "replica_count" in g else "not passed"

    replica_count = plan["replica_count"]
    storage_values_file = None
    if storage_dir:
        svalues, source = storage_values(plan, values)
        storage_hidden = hidden
        storage_values_file = write_values(os.path.join(workdir, "storage-values.yaml"), svalues)
        say("Storage chart charts/%s (release %s in %s), values from the %s: %s" % (
            STORAGE_CHART, STORAGE_RELEASE, STORAGE_NAMESPACE,
            "role's plan (storage_chart_values)" if source == "role"
            else "script (this checkout's platform_plan has no storage_chart_values)",
            ", ".join("global.%s=%r" % kv for kv in sorted(svalues["global"].items()))))
        not_strings = ["global.%s" % k for k, v in sorted(svalues["global"].items()) if not isinstance(v, str)]
        if not_strings:
            failures.append("the storage chart's values are not all strings (kaapanactl.sh passes --set-string): %s"
                            % ", ".join(not_strings))
        replica_count = svalues["global"].get("replica_count", replica_count)
        if "replica_count" in g:
            say("  NOTE: the admin values still carry global.replica_count (%r); kaapanactl.sh 0.6.1 no longer "
                "passes it and the admin chart itself does not read it (only its disabled storage subchart does)"
                % g["replica_count"])
        storage_interface = storage_script_interface(script_text) if script_text else {}
        if storage_interface:
            sdiffs = interface_differences(svalues, storage_interface)
            say("  against the tree's kaapanactl.sh `upgrade --install %s` line (%d keys): %s" % (
                STORAGE_RELEASE, len(storage_interface), "same keys and types" if not sdiffs else "; ".join(sdiffs)))
            if sdiffs:
                row["script"] += "; storage %d diff" % len(sdiffs)
        code, out, err = helm.run(["lint", storage_dir, "--values", storage_values_file])
        slint_ok = code == 0
        say("  helm lint: %s" % ("ok" if slint_ok else "FAILED"))
        for line in [ln for ln in (out + err).splitlines() if ln.startswith(("[ERROR]", "[WARNING]", "Error"))]:
            say("    " + mask(line, storage_hidden))
        if not slint_ok:
            failures.append("helm lint rejects the storage chart's values: %s" % _short(mask(out + err, hidden)))
        scode, storage_manifests, err = helm.run(["template", STORAGE_RELEASE, storage_dir, "-n", STORAGE_NAMESPACE,
                                                  "--values", storage_values_file])
        if scode != 0:
            failures.append("helm template of the storage chart fails: %s" % _short(err))
            say("  helm template: FAILED\n    %s" % _short(err, 2000))
            classes = {}
            row["storage_chart"] = "%s/FAIL" % ("ok" if slint_ok else "FAIL")
        else:
            classes = storage_classes(storage_manifests)
            say("  helm template: ok, StorageClasses %s" % ", ".join(
                "%s (%s)" % (n, c["provisioner"]) for n, c in sorted(classes.items())))
            problems = manifest_problems(storage_manifests)
            for problem in problems:
                say("    BROKEN: " + problem)
            if problems:
                failures.append("the storage chart's objects are broken (%d problems above)" % len(problems))
            row["storage_chart"] = "%s/%d classes" % ("ok" if slint_ok else "FAIL", len(classes))
        admin_classes = storage_classes(manifests) if template_code == 0 else {}
        if admin_classes:
            failures.append("the admin chart renders StorageClasses (%s) beside its storage chart"
                            % ", ".join(sorted(admin_classes)))
    else:
        classes = storage_classes(manifests) if template_code == 0 else {}
        row["storage_chart"] = "n/a"
        if classes:
            say("StorageClasses of the admin chart: %s" % ", ".join(
                "%s (%s)" % (n, c["provisioner"]) for n, c in sorted(classes.items())))
    if template_code == 0 or storage_dir:
        class_problems = storage_class_problems(values, classes, replica_count)
        say("StorageClasses against the values (%s: fast %s, slow %s, workflow %s; replica count %s): %s" % (
            provider_name, g.get("storage_class_fast"), g.get("storage_class_slow"), g.get("storage_class_workflow"),
            replica_count, "ok" if not class_problems else "; ".join(class_problems)))
        if class_problems:
            failures.append("the StorageClasses do not fit the values: %s" % "; ".join(class_problems))
        row["classes"] = "ok" if not class_problems else "FAIL"

    if args.kubeconfig:
        server = []
        if storage_dir and storage_values_file:
            code, deployed, dummy = helm.run(["get", "manifest", STORAGE_RELEASE, "-n", STORAGE_NAMESPACE,
                                              "--kubeconfig", args.kubeconfig])
            changes = storage_class_changes(storage_classes(deployed), classes) if code == 0 else []
            if changes:
                notes.append("storage chart: the deployed release %s would change StorageClass fields that "
                             "Kubernetes cannot update (\"updates to parameters are forbidden\"; a server dry run "
                             "does not see it, a real upgrade fails): %s" % (STORAGE_RELEASE, "; ".join(changes)))
                say("helm get manifest %s: the deployed StorageClasses differ in immutable fields (CONFLICT)"
                    % STORAGE_RELEASE)
                server.append("conflict")
        if storage_dir and storage_values_file:
            server.append(_server(helm, storage_dir, STORAGE_RELEASE, STORAGE_NAMESPACE, storage_values_file,
                                  args.kubeconfig, workdir, failures, notes, upgrade=True, label="storage chart"))
        if template_code == 0:
            server.append(_server(helm, chart_dir, release, namespace, values_file, args.kubeconfig, workdir,
                                  failures, notes, label="admin chart"))
        row["server"] = "/".join(server) or "-"
    else:
        row["server"] = "-"

    for note in notes:
        say("OUTSIDE OUR VALUES: " + note)
    if failures:
        for failure in failures:
            say("FAIL: " + failure)
        row["code"], row["result"] = 1, "FAIL (%d)" % len(failures)
        return row
    say("OK: the real %s%s render%s with the values the platform role computes." % (
        PLATFORM_CHART, " and its %s" % STORAGE_CHART if storage_dir else "", "" if storage_dir else "s"))
    row["code"], row["result"] = 0, "OK" + (" (%d notes)" % len(notes) if notes else "")
    return row


def _closure(charts, name, seen=None):
    seen = seen if seen is not None else set()
    if name in seen or name not in charts:
        return seen
    seen.add(name)
    for dep in chart_dependencies(charts[name]):
        _closure(charts, dep, seen)
    return seen


def _chart_global_defaults(chart_dir):
    keys = set()
    for path in glob.glob(os.path.join(chart_dir, "**", "values.yaml"), recursive=True):
        data = _load_yaml(path) or {}
        keys.update((data.get("global") or {}).keys() if isinstance(data.get("global"), dict) else [])
    return keys


def _usage(helm, chart_dir, release, namespace, values, values_file, baseline, workdir, admin_refs, other_refs):
    changed, failed = set(), {}
    paths = leaf_paths(values)
    probe_file = os.path.join(workdir, "probe.yaml")
    renders = [baseline] + [helm.run(["template", release, chart_dir, "-n", namespace, "--values", values_file])[1]
                            for dummy in range(2)]
    volatile = volatile_lines(renders)
    if volatile is None:
        say("Key usage: skipped, the chart renders a different number of lines each time")
        return None
    for path in paths:
        write_values(probe_file, set_path(values, path, perturb(get_path(values, path))))
        code, out, err = helm.run(["template", release, chart_dir, "-n", namespace, "--values", probe_file])
        if code != 0:
            failed[path] = _short(err, 200)
        elif render_differs(baseline, volatile, out):
            changed.add(path)
    report = usage_report(paths, changed, failed, admin_refs, other_refs)
    say("Key usage (each key changed alone, chart rendered again; %d lines of random secrets and names ignored):"
        % len(volatile))
    say("  consumed by %s (%d): %s" % (PLATFORM_CHART, len(report["consumed"]), ", ".join(
        k + (" [%s]" % n if n else "") for k, n in report["consumed"]) or "none"))
    say("  read by %s, no effect with these values (%d):" % (PLATFORM_CHART, len(report["conditional"])))
    for key, note in report["conditional"]:
        say("    %s: %s" % (key, note))
    say("  ignored by %s, read by other charts of the tree, which kube-helm installs with every global.* of the "
        "release (%d):" % (PLATFORM_CHART, len(report["forwarded"])))
    for key, note in report["forwarded"]:
        say("    %s: %s" % (key, note))
    say("  read nowhere in the tree (%d): %s" % (len(report["ignored"]), ", ".join(
        k for k, dummy in report["ignored"]) or "none"))
    return report


def _server(helm, chart_dir, release, namespace, values_file, kubeconfig, workdir, failures, notes, upgrade=False,
            label="admin chart"):
    """helm install (upgrade=True: upgrade --install, as kaapanactl.sh installs the storage chart) --dry-run=server;
    objects the cluster cannot map (the chart's own CRDs, API versions the cluster does not serve) and objects that
    exist already, owned by another release or by nobody, are reported and left out of a repeated dry run, which
    then checks the rest; an existing release whose immutable fields would change (StorageClass parameters) is
    reported as a conflict. Returns the summary cell: ok, ok* (with objects left out), conflict, FAIL or skipped."""
    base = (["upgrade", "--install"] if upgrade else ["install"]) + [
        release, chart_dir, "-n", namespace, "--create-namespace", "--dry-run=server", "--values", values_file,
        "--kubeconfig", kubeconfig]
    what = "helm %s --dry-run=server (%s)" % ("upgrade --install" if upgrade else "install", label)
    crd_kinds = chart_crd_kinds(chart_dir)
    dropped, shipped_all, missing_all, owned_all = set(), set(), set(), []
    for dummy in range(8):
        extra, env = post_renderer_args(helm, workdir, dropped) if dropped else ([], {})
        code, dummy_out, err = helm.run(base + extra, env=env)
        if code == 0:
            break
        if "cannot re-use a name" in err:
            notes.append("%s: a release %s already exists in namespace %s: no server dry run"
                         % (label, release, namespace))
            say("%s: skipped (the release exists)" % what)
            return "skipped"
        if "updates to parameters are forbidden" in err or "field is immutable" in err:
            notes.append("%s: the release %s exists in %s with other values that Kubernetes cannot change in place "
                         "(a StorageClass's parameters are immutable; for the storage chart: another INSTANCE_UID's "
                         "data directories on this cluster): %s" % (label, release, namespace, _short(err, 400)))
            say("%s: CONFLICT with the existing release" % what)
            return "conflict"
        owned = ownership_conflicts(err)
        if owned:
            owned_all.extend(owned)
            kinds = {o["kind"] for o in owned}
            rendered = _api_kinds(helm, chart_dir, release, namespace, values_file)
            dropped.update(k for k in rendered if k[1] in kinds)
            if rendered and rendered <= dropped:
                code = 0  # nothing left to check (Helm 4 refuses a post-renderer's empty output)
                break
            continue
        shipped, missing, rest = classify_server_error(err, crd_kinds)
        if rest or not (shipped or missing) or set(shipped + missing) <= {" ".join(k) for k in dropped}:
            failures.append("%s rejects the values: %s" % (what, _short(err, 2000)))
            say("%s: FAILED" % what)
            return "FAIL"
        shipped_all.update(shipped)
        missing_all.update(missing)
        dropped.update(tuple(k.split(" ", 1)) for k in shipped + missing)
    else:
        left_out = ", ".join(sorted(" ".join(k) for k in dropped))
        failures.append("%s still fails after leaving out %s" % (what, left_out))
        return "FAIL"
    if not dropped:
        say("%s: ok" % what)
        return "ok"
    left_out = ", ".join(sorted(" ".join(k) for k in dropped))
    say("%s: ok without the objects the cluster cannot take (%s)" % (what, left_out))
    if shipped_all:
        notes.append("%s: %s: CRDs the chart ships in crds/, which Helm installs only in a real install, not in a "
                     "dry run" % (label, ", ".join(sorted(shipped_all))))
    if missing_all:
        notes.append("%s: the cluster does not serve %s, which the chart renders with these values"
                     % (label, ", ".join(sorted(missing_all))))
    for item in owned_all:
        notes.append("%s: %s %s exists already, %s: a real install fails until it is removed or the other "
                     "release is" % (label, item["kind"], item["name"],
                                     "owned by the release %s" % item["owner"] if item["owner"]
                                     else "not owned by this release"))
    return "ok*"


def _api_kinds(helm, chart_dir, release, namespace, values_file):
    """{(apiVersion, kind)} of the chart's rendered objects."""
    code, out, dummy = helm.run(["template", release, chart_dir, "-n", namespace, "--values", values_file])
    if code != 0:
        return set()
    return {(d.get("apiVersion"), d.get("kind")) for d in yaml.safe_load_all(out) if isinstance(d, dict)}


if __name__ == "__main__":
    sys.exit(main())
