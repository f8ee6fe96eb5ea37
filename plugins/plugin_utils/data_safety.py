# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""What a purge may delete, and whether the user confirmed it: the rules that keep patient data safe.

* :func:`data_dir_problem` says why a data directory (``kaapana_fast_data_dir`` / ``kaapana_slow_data_dir``) can
  not be used, or ``None``: it must be an absolute, normalised path (no ``.``/``..`` segment, no ``//``, no trailing
  ``/``, white space or newline) that is neither a system directory, nor inside a system tree, nor a parent of
  either. The deploy checks it and the purge checks it again before the file module deletes the directory, which
  would otherwise delete the *normalised* path (``/home/kaapana/..`` is ``/home``).
* :func:`purge_decision` decides a purge: only with ``kaapana_purge_data: true`` and ``kaapana_purge_confirm``
  equal to a non-empty instance name, both given for this run (``-e``, a survey, play or task variables), never
  from the inventory, where a pair left in ``group_vars`` would purge again on every later undeploy.

Controller-side only (``plugin_utils``): nothing here runs on managed nodes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import re

# Directories that are refused as data directories, and (being parents of one another) every parent of them.
SYSTEM_DIRS = frozenset([
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/lost+found", "/media",
    "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/snap", "/srv", "/sys", "/tmp", "/usr",
    "/var", "/var/backups", "/var/cache", "/var/lib", "/var/local", "/var/log", "/var/mail", "/var/opt", "/var/run",
    "/var/spool", "/var/tmp", "/var/snap",
])
# Trees whose every directory is refused: the operating system's and MicroK8s', snapd's and Longhorn's state.
SYSTEM_TREES = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run", "/sbin",
                "/snap", "/sys", "/usr", "/var/lib/snapd", "/var/snap/microk8s", "/var/snap/helm",
                "/var/lib/longhorn", "/var/lib/kubelet", "/var/lib/containerd", "/var/log")
# Purge variables; what a purge needs to go ahead.
PURGE_VARIABLES = ("kaapana_purge_data", "kaapana_purge_confirm")
TRUE_WORDS = frozenset(["true", "yes", "on", "1", "y", "t"])


def _within(path, tree):
    return path == tree or path.startswith(tree.rstrip("/") + "/")


def data_dir_problem(path):
    """``None`` when ``path`` may hold the platform's data and be deleted by a confirmed purge, else why not."""
    if not isinstance(path, str) or not path:
        return "must be an absolute path such as /home/kaapana"
    if path != path.strip() or re.search(r"[\x00-\x1f\x7f]", path):
        return "must not contain white space at either end, newlines or control characters"
    if not path.startswith("/"):
        return "must be an absolute path such as /home/kaapana"
    normalised = posixpath.normpath(path)
    if normalised.startswith("//"):
        normalised = "/" + normalised.lstrip("/")
    if normalised != path:
        return "must be written normalised, as %s (no '.' or '..' segments, no '//', no trailing '/')" % normalised
    if path in SYSTEM_DIRS:
        return "is a system directory; use a directory of its own such as /home/kaapana or /data/kaapana"
    for tree in SYSTEM_TREES:
        if _within(path, tree):
            return "is inside %s, which belongs to the system; use a directory such as /data/kaapana" % tree
    for system in sorted(SYSTEM_DIRS) + list(SYSTEM_TREES):
        if path != system and _within(system, path):
            return "is a parent of the system directory %s; use a directory of its own such as %s/kaapana" % (
                system, path)
    return None


def data_dirs_problems(dirs):
    """Messages naming the variable, the value and the accepted form, for each unusable entry of ``dirs``
    (a mapping of variable name to path, or a list of ``{'name': ..., 'path': ...}``)."""
    if isinstance(dirs, dict):
        items = sorted(dirs.items())
    else:
        items = [(item["name"], item["path"]) for item in dirs]
    problems = []
    for name, path in items:
        problem = data_dir_problem(path)
        if problem:
            problems.append("%s: %r %s. It is deleted by a confirmed purge, so it must be the platform's own "
                            "directory." % (name, path, problem))
    return problems


def _truthy(value):
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in TRUE_WORDS


def purge_decision(purge_data, purge_confirm, instance_name, from_inventory=()):
    """``{'purge': bool, 'error': str or None}``. ``purge`` only when ``purge_data`` is true, ``instance_name``
    is not empty and ``purge_confirm`` equals it exactly, and neither purge variable came from the inventory
    (``from_inventory``: the names of those that did). ``error`` says why a requested purge is refused."""
    if not _truthy(purge_data):
        return {"purge": False, "error": None}
    name = "" if instance_name is None else str(instance_name)
    confirm = "" if purge_confirm is None else str(purge_confirm)
    stray = [var for var in PURGE_VARIABLES if var in (from_inventory or ())]
    if stray:
        return {"purge": False, "error": (
            "%s %s set in the inventory (host_vars/group_vars or an inventory file), where it would purge again on "
            "every later undeploy: remove it there and give both purge variables for this run only, with -e "
            "(ansible-playbook ... -e kaapana_purge_data=true -e kaapana_purge_confirm=<instance name>) or an AWX "
            "survey. Nothing was deleted." % (" and ".join(stray), "is" if len(stray) == 1 else "are"))}
    if not name.strip().strip(".").strip():
        return {"purge": False, "error": (
            "kaapana_purge_data is true but the instance name is empty (kaapana_instance_name, kaapana_domain and the "
            "main node's FQDN give none), so no kaapana_purge_confirm can confirm a purge: set kaapana_domain or "
            "kaapana_instance_name. Nothing was deleted.")}
    if confirm != name:
        return {"purge": False, "error": (
            "kaapana_purge_data is true but kaapana_purge_confirm is %r, not the instance name %r: set "
            "kaapana_purge_confirm to %r to confirm, or kaapana_purge_data to false. Nothing was deleted."
            % (confirm, name, name))}
    return {"purge": True, "error": None}


def instance_releases(releases, platform_name, instance_uid="", helm_namespace="default"):
    """The releases of ``releases`` (helm_release_info results with the value keys ``global.release_name`` and
    ``global.instance_uid``) that belong to this Kaapana instance: the platform release itself (named
    ``platform_name`` in ``helm_namespace``), and the releases Kaapana's kube-helm installs, which carry the platform
    release's ``global.*`` values. Both must name this platform release and this instance UID. Anything else (a
    release someone else installed in ``default`` or ``admin``, another instance's) is left alone."""
    uid = "" if instance_uid is None else str(instance_uid)
    mine = []
    for release in releases or []:
        values = release.get("values") or {}
        if values.get("global.release_name") != platform_name:
            continue
        if ("" if values.get("global.instance_uid") is None else str(values.get("global.instance_uid"))) != uid:
            continue
        if release.get("namespace") == helm_namespace and release.get("name") != platform_name:
            continue
        mine.append(release)
    return mine


def longhorn_volumes_kept(volumes, purged_namespaces=()):
    """The Longhorn volumes (``volumes.longhorn.io`` objects) that a purge of ``purged_namespaces`` does not delete,
    each as ``{'name', 'pvc', 'label'}``; ``pvc`` is ``namespace/name`` from the volume's ``status.kubernetesStatus``
    ('' when no PVC uses it). A volume without a PVC is never purged."""
    kept = []
    for volume in volumes or []:
        name = (volume.get("metadata") or {}).get("name", "")
        status = ((volume.get("status") or {}).get("kubernetesStatus") or {})
        namespace, claim = status.get("namespace") or "", status.get("pvcName") or ""
        if claim and namespace in (purged_namespaces or ()):
            continue
        pvc = "%s/%s" % (namespace, claim) if claim else ""
        kept.append({"name": name, "pvc": pvc, "label": "%s (PVC %s)" % (name, pvc) if pvc else "%s (no PVC)" % name})
    return kept
