# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Filters for Kaapana's storage: the storage classes and the Longhorn test of a storage provider (adapters of
plugin_utils/storage_provider.py, where the provider's spellings are decided), Kubernetes quantity validation,
Longhorn's replica-count rule and Kaapana's Longhorn disk tagging, plus the chart-reference and file-system-id
helpers the longhorn role needs. Pure functions; the FilterModule only maps names.
Documentation: one <filter>.yml file per filter next to this file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six import string_types

from ansible_collections.kaapana.platform.plugins.module_utils.chart_ref import chart_ref_scheme
from ansible_collections.kaapana.platform.plugins.plugin_utils import (input_checks, longhorn_backup, storage_provider,
                                                                       volume_growth)

# Kubernetes resource.Quantity: <signedNumber><suffix>, suffix = binarySI | decimalSI | decimalExponent.
QUANTITY_RE = re.compile(
    r"^(?P<sign>[+-]?)(?P<number>[0-9]+(\.[0-9]*)?|\.[0-9]+)"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$")
QUANTITY_FORM = ("a positive Kubernetes quantity: a number with an optional binary suffix Ki, Mi, Gi, Ti, Pi, Ei "
                 "or decimal suffix k, M, G, T, P, E (for example 100Gi, 1Ti, 500M, 1.5Gi)")
# Suffixes people write for byte sizes that Kubernetes does not accept, with what they probably mean.
QUANTITY_HINTS = {"b": "", "kb": "k", "mb": "M", "gb": "G", "tb": "T", "pb": "P", "eb": "E",
                  "kib": "Ki", "mib": "Mi", "gib": "Gi", "tib": "Ti", "pib": "Pi", "eib": "Ei",
                  "ki": "Ki", "mi": "Mi", "gi": "Gi", "ti": "Ti", "pi": "Pi", "ei": "Ei", "g": "G", "t": "T"}

LONGHORN_DEFAULT_DISK_PREFIX = "default-disk-"

CHART_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$")
REPO_CHART_RE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?/[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$")
OCI_RE = re.compile(r"^oci://[A-Za-z0-9.-]+(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+$")
URL_RE = re.compile(r"^https?://[^\s/]+/\S+\.tgz$")
CHART_FORMS = ("repo/chart (a chart repository, with the repository URL), oci://host[:port]/path/chart, "
               "an http(s) URL of a chart .tgz, or the path of a chart .tgz")


def _bad(var_name, value, expected):
    return AnsibleFilterError("%s: %r is not %s." % (var_name, value, expected))


# -- storage provider (plugin_utils/storage_provider.py) ----------------------------------------------------
def storage_classes(provider, overrides=None, var_name="kaapana_storage_provider",
                    override_var="kaapana_storage_class_%s"):
    try:
        return storage_provider.storage_classes(provider, overrides, var_name, override_var)
    except storage_provider.StorageProviderError as error:
        raise AnsibleFilterError(str(error))


def storage_provider_is_longhorn(provider):
    return storage_provider.is_longhorn(provider)


# -- quantities -------------------------------------------------------------------------------------
def k8s_quantity(value, var_name="value"):
    """Validate a size as a Kubernetes quantity; returns the normalized string (trimmed, no '+')."""
    if isinstance(value, bool) or value is None:
        raise _bad(var_name, value, QUANTITY_FORM)
    if isinstance(value, (int, float)):
        text = repr(value) if isinstance(value, float) else str(value)
    elif isinstance(value, string_types):
        text = value.strip()
    else:
        raise _bad(var_name, value, QUANTITY_FORM)
    match = QUANTITY_RE.match(text)
    if not match:
        hint = ""
        tail = re.match(r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*([A-Za-z]+)$", text)
        if tail and tail.group(3).lower() in QUANTITY_HINTS:
            hint = " Did you mean %s%s?" % (tail.group(1), QUANTITY_HINTS[tail.group(3).lower()] or "")
        raise AnsibleFilterError("%s: %r is not %s.%s" % (var_name, value, QUANTITY_FORM, hint))
    if match.group("sign") == "-" or float(match.group("number")) == 0:
        raise _bad(var_name, value, QUANTITY_FORM)
    if match.group("suffix") == "m":
        raise AnsibleFilterError("%s: %r is in thousandths of a byte (suffix m); use M (megabytes) or Mi (mebibytes), "
                                 "for example %sMi." % (var_name, value, match.group("number")))
    if input_checks.quantity_bytes(text) < input_checks.MIN_QUANTITY_BYTES:
        raise AnsibleFilterError("%s: %r is less than 1Mi (1048576 bytes); a volume size is %s." % (var_name, value, QUANTITY_FORM))
    return text[1:] if text.startswith("+") else text


# -- Longhorn ---------------------------------------------------------------------------------------
def _resources(nodes):
    if isinstance(nodes, dict):
        nodes = nodes.get("resources", nodes.get("items", []))
    if nodes is None:
        return []
    if not isinstance(nodes, (list, tuple)):
        raise AnsibleFilterError("longhorn_replica_count expects a list of nodes.longhorn.io objects "
                                 "(the resources of kubernetes.core.k8s_info), not %r" % (nodes,))
    return list(nodes)


def longhorn_replica_count(nodes):
    """Kaapana's REPLICA_COUNT: 2 when more than one Longhorn node allows scheduling, else 1."""
    schedulable = [n for n in _resources(nodes)
                   if isinstance(n, dict) and ((n.get("spec") or {}).get("allowScheduling") is True)]
    return 2 if len(schedulable) > 1 else 1


def _norm_path(path):
    text = to_text(path).strip()
    if not text.startswith("/"):
        raise AnsibleFilterError("longhorn_disk_patch: %r is not an absolute path" % (path,))
    return posixpath.normpath(text)


def _tags(value, where):
    if value is None:
        return []
    if isinstance(value, string_types):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(t, string_types) for t in value):
        return list(value)
    raise AnsibleFilterError("longhorn_disk_patch: tags of %s must be a string or a list of strings, not %r"
                             % (where, value))


def longhorn_disk_patch(node, disks):
    """The `spec.disks` merge patch that gives a Longhorn node Kaapana's disk tags.

    node: the nodes.longhorn.io object (a dict with spec.disks). disks: [{path, tags, fsid}] in
    order (Kaapana: fast data dir, then slow data dir); fsid is the file-system id (`stat -fc %i`)
    of the directory, or None when unknown. For each entry, the disk whose tags are extended is
    1. a disk that already has this path (a disk added by an earlier run or by hand),
    2. the disk chosen for an earlier entry on the same file system (slow shares fast's disk),
    3. the default disk `default-disk-<fsid>` when the directory is on its file system,
    4. otherwise a new disk named after the first tag, {path, allowScheduling: true, tags}.
    Existing tags are kept. Only disks that change are in the result: {} means nothing to do.
    """
    if not isinstance(node, dict):
        raise AnsibleFilterError("longhorn_disk_patch expects a nodes.longhorn.io object, not %r" % (node,))
    current = (node.get("spec") or {}).get("disks")
    if current is None:
        current = {}
    if not isinstance(current, dict):
        raise AnsibleFilterError("longhorn_disk_patch: spec.disks of the Longhorn node is not a mapping")
    if not isinstance(disks, (list, tuple)):
        raise AnsibleFilterError("longhorn_disk_patch: disks must be a list of {path, tags, fsid}")
    desired = {}  # name -> full desired disk entry (tags, and path/allowScheduling for new disks)
    by_fsid = {}
    for index, entry in enumerate(disks):
        if not isinstance(entry, dict) or not entry.get("path"):
            raise AnsibleFilterError("longhorn_disk_patch: disks[%d] must be a mapping with a path" % index)
        path = _norm_path(entry["path"])
        tags = _tags(entry.get("tags"), "disks[%d]" % index)
        if not tags:
            raise AnsibleFilterError("longhorn_disk_patch: disks[%d] (%s) has no tags" % (index, path))
        fsid = entry.get("fsid")
        fsid = to_text(fsid).strip() if fsid not in (None, "") else None
        name = None
        for disk_name in sorted(set(current) | set(desired)):
            disk_path = (current.get(disk_name) or {}).get("path") or (desired.get(disk_name) or {}).get("path")
            if disk_path and _norm_path(disk_path) == path:
                name = disk_name
                break
        if name is None and fsid is not None and fsid in by_fsid:
            name = by_fsid[fsid]
        if name is None and fsid is not None and (LONGHORN_DEFAULT_DISK_PREFIX + fsid) in current:
            name = LONGHORN_DEFAULT_DISK_PREFIX + fsid
        if name is None:
            name = entry.get("name") or tags[0]
            if name in current or name in desired:
                raise AnsibleFilterError(
                    "longhorn_disk_patch: the Longhorn node already has a disk %r with path %r; cannot add %s there. "
                    "Remove or rename that disk, or give this entry another name."
                    % (name, (desired.get(name) or current.get(name) or {}).get("path"), path))
            desired[name] = {"path": path, "allowScheduling": True, "tags": []}
        if name not in desired:
            desired[name] = {"tags": _tags((current.get(name) or {}).get("tags"), "disk %s" % name)}
        for tag in tags:
            if tag not in desired[name]["tags"]:
                desired[name]["tags"].append(tag)
        if fsid is not None:
            by_fsid.setdefault(fsid, name)
    patch = {}
    for name, entry in desired.items():
        old = current.get(name)
        if old is None:
            patch[name] = entry
        elif _tags(old.get("tags"), "disk %s" % name) != entry["tags"]:
            patch[name] = {"tags": entry["tags"]}
    return patch


# -- helpers for the longhorn role ----------------------------------------------------------------------
def path_ancestors(path):
    """/a/b/c -> ['/a/b/c', '/a/b', '/a', '/'] (normalized; the path itself first)."""
    current = _norm_path(path)
    result = [current]
    while current != "/":
        current = posixpath.dirname(current)
        result.append(current)
    return result


def stat_fsid(stat_output, path):
    """File-system id of path, or of its nearest ancestor, from `stat -fc '%i %n' <paths>` output."""
    found = {}
    for line in to_text(stat_output or "").splitlines():
        fsid, sep, name = line.partition(" ")
        if sep and fsid and name:
            found[posixpath.normpath(name)] = fsid
    for candidate in path_ancestors(path):
        if candidate in found:
            return found[candidate]
    return None


def longhorn_chart_source(chart_ref, repo_url="", var_name="kaapana_longhorn_chart_ref"):
    """How to install a chart reference: {kind, chart_ref, repo_url}.

    kind: oci (oci://...), url (http(s) URL of a .tgz), local (path of a .tgz on the controller),
    repo (repo/chart: with repo_url the chart name is pulled from that repository URL, without
    it from a repository added with `helm repo add`)."""
    ref = to_text(chart_ref if chart_ref is not None else "").strip()
    url = to_text(repo_url if repo_url is not None else "").strip()
    if chart_ref_scheme(ref) == "oci":
        if not OCI_RE.match(ref):
            raise _bad(var_name, chart_ref, CHART_FORMS)
        return {"kind": "oci", "chart_ref": ref, "repo_url": ""}
    if chart_ref_scheme(ref) in ("http", "https"):
        if not URL_RE.match(ref):
            raise _bad(var_name, chart_ref, CHART_FORMS)
        return {"kind": "url", "chart_ref": ref, "repo_url": ""}
    if ref.endswith(".tgz"):
        if re.search(r"\s", ref) or "://" in ref:
            raise _bad(var_name, chart_ref, CHART_FORMS)
        return {"kind": "local", "chart_ref": ref, "repo_url": ""}
    if REPO_CHART_RE.match(ref) or (url and CHART_NAME_RE.match(ref)):
        if url and not re.match(r"^https?://[^\s/]+(/\S*)?$", url):
            raise _bad(var_name.replace("chart_ref", "repo_url"), repo_url, "an http(s) URL of a chart repository")
        return {"kind": "repo", "chart_ref": ref.split("/", 1)[-1] if url else ref, "repo_url": url}
    raise _bad(var_name, chart_ref, CHART_FORMS)


def longhorn_backup_errors(target, credentials, jobs):
    """Why Longhorn would refuse the backup target, its credentials or the recurring jobs; [] when it would not."""
    return longhorn_backup.backup_errors(target, credentials, jobs)


def k8s_quantity_at_least(value, minimum):
    """Whether a Kubernetes quantity is at least another (False when either is not a quantity)."""
    have, want = input_checks.quantity_bytes(value), input_checks.quantity_bytes(minimum)
    return have is not None and want is not None and have >= want


def slow_volume_growth(claims, desired, slow_class, expandable):
    """Which slow-data claims grow to kaapana_volume_slow_data, and the sizes Kubernetes would refuse."""
    return volume_growth.slow_volume_growth(claims, desired, slow_class, expandable)


class FilterModule(object):
    """kaapana.platform storage filters."""

    def filters(self):
        return {
            "storage_classes": storage_classes,
            "storage_provider_is_longhorn": storage_provider_is_longhorn,
            "k8s_quantity": k8s_quantity,
            "longhorn_replica_count": longhorn_replica_count,
            "longhorn_disk_patch": longhorn_disk_patch,
            "longhorn_chart_source": longhorn_chart_source,
            "longhorn_backup_errors": longhorn_backup_errors,
            "slow_volume_growth": slow_volume_growth,
            "k8s_quantity_at_least": k8s_quantity_at_least,
            "path_ancestors": path_ancestors,
            "stat_fsid": stat_fsid,
        }
