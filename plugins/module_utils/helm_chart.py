# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Charts as helm loads them: where chart_ref points (oci, url, local, repo), a port of helm's .helmignore
rules, chart directories and archives read into files, and the content digest that compares a chart with the
chart stored in a release."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib
import json
import os
import posixpath
import re
import tarfile

from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text

from ansible_collections.kaapana.platform.plugins.module_utils.chart_ref import chart_ref_scheme
from ansible_collections.kaapana.platform.plugins.module_utils.helm_errors import HelmError
from ansible_collections.kaapana.platform.plugins.module_utils.helm_values import normalize_json, parse_yaml


# --------------------------------------------------------------------------------------
# Chart references
# --------------------------------------------------------------------------------------


def chart_source(chart_ref, repo_url=None, path_exists=os.path.exists):
    """Classify chart_ref: ``oci``, ``url``, ``local`` or ``repo``. Raises HelmError when unusable."""
    if not chart_ref:
        raise HelmError("chart_ref is required when state=present")
    scheme = chart_ref_scheme(chart_ref)
    if scheme == "oci":
        if repo_url:
            raise HelmError("repo_url cannot be used with an oci:// chart_ref; drop repo_url")
        return "oci"
    if scheme in ("http", "https"):
        return "url"
    if path_exists(chart_ref):
        return "local"
    if chart_ref.startswith(("/", ".", "~")) or chart_ref.endswith(".tgz"):
        raise HelmError("chart_ref %s: local chart path not found on the module host" % chart_ref)
    if repo_url or "/" in chart_ref:
        return "repo"
    raise HelmError("chart_ref %r is neither oci://..., a URL, an existing local path nor repo/chart; "
                    "give the repository with repo_url or use repo/chart" % chart_ref)


# --------------------------------------------------------------------------------------
# helm's ignore rules and chart loading (to compute the chart content digest in Python)
# --------------------------------------------------------------------------------------


def _go_match_regex(pattern):
    """Translate Go's filepath.Match pattern into a Python regex ('*' and '?' never match '/')."""
    out = []
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        elif ch == "[":
            j = pattern.find("]", i + 1)
            if j == -1:
                raise ValueError("syntax error in pattern %r" % pattern)
            body = pattern[i + 1:j]
            if body.startswith("^"):
                body = "^" + body[1:].replace("\\", "\\\\")
            else:
                body = body.replace("\\", "\\\\")
            out.append("[" + body + "]")
            i = j
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("^" + "".join(out) + "$")


class HelmIgnore:
    """A port of helm's pkg/ignore rules (.helmignore) used when loading a chart directory."""

    def __init__(self, lines=()):
        self.patterns = []
        for line in lines:
            self.add(line)

    def add(self, rule):
        rule = rule.strip()
        if not rule or rule.startswith("#"):
            return
        if "**" in rule:
            raise HelmError(".helmignore: double-star (**) syntax is not supported: %s" % rule)
        negate = rule.startswith("!")
        if negate:
            rule = rule[1:]
        must_dir = rule.endswith("/")
        if must_dir:
            rule = rule[:-1]
        if rule.startswith("/"):
            kind, rule = "root", rule.lstrip("/")
        elif "/" in rule:
            kind = "path"
        else:
            kind = "base"
        self.patterns.append((negate, must_dir, kind, _go_match_regex(rule)))

    @staticmethod
    def _matches(kind, regex, path):
        return bool(regex.match(posixpath.basename(path) if kind == "base" else path))

    def ignore(self, path, is_dir):
        if path in ("", ".", "./"):
            return False
        for negate, must_dir, kind, regex in self.patterns:
            if negate:
                if must_dir and not is_dir:
                    return True
                if not self._matches(kind, regex, path):
                    return True
                continue
            if must_dir and not is_dir:
                continue
            if self._matches(kind, regex, path):
                return True
        return False


UTF8_BOM = b"\xef\xbb\xbf"


def _strip_bom(data):
    return data[len(UTF8_BOM):] if data.startswith(UTF8_BOM) else data


def load_chart_dir(path):
    """Files of a chart directory as helm's LoadDir sees them: {relative/posix/name: bytes}."""
    top = os.path.abspath(path)
    rules = HelmIgnore()
    ignore_file = os.path.join(top, ".helmignore")
    if os.path.isfile(ignore_file):
        with open(ignore_file, "rb") as handle:
            data = _strip_bom(handle.read())
        for line in to_text(data, errors="surrogate_or_strict").splitlines():
            rules.add(line)
    rules.add("templates/.?*")
    files = {}
    for root, dirs, names in os.walk(top, followlinks=True):
        rel_root = os.path.relpath(root, top)
        rel_root = "" if rel_root == "." else rel_root.replace(os.sep, "/")
        keep = []
        for name in sorted(dirs):
            rel = posixpath.join(rel_root, name) if rel_root else name
            if not rules.ignore(rel, True):
                keep.append(name)
        dirs[:] = keep
        for name in sorted(names):
            rel = posixpath.join(rel_root, name) if rel_root else name
            if rules.ignore(rel, False):
                continue
            with open(os.path.join(root, name), "rb") as handle:
                files[rel] = _strip_bom(handle.read())
    return files


def load_chart_archive(path):
    """Files of a packaged chart (.tgz) as helm's LoadArchive sees them."""
    files = {}
    try:
        with tarfile.open(path, mode="r:*") as archive:
            for member in archive:
                if not member.isfile():
                    continue
                name = member.name
                delimiter = "\\" if "\\" in name else "/"
                parts = name.split(delimiter)
                rel = posixpath.normpath("/".join(parts[1:]))
                if rel in (".", "") or rel.startswith(".."):
                    continue
                handle = archive.extractfile(member)
                files[rel] = _strip_bom(handle.read() if handle else b"")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise HelmError("chart_ref %s is not a readable chart archive: %s" % (path, to_native(exc)))
    if not files:
        raise HelmError("chart_ref %s: no files in chart archive" % path)
    return files


def content_digest(templates, files, schema):
    """Digest of a chart's own content: templates, other files and values.schema.json.

    ``templates`` and ``files`` map names to bytes. This is exactly the content helm stores in
    the release record (``chart.templates``, ``chart.files``, ``chart.schema``), so the same
    digest can be computed for the desired chart and for the deployed release.
    """
    doc = {
        "templates": sorted([name, hashlib.sha256(data).hexdigest()] for name, data in templates.items()),
        "files": sorted([name, hashlib.sha256(data).hexdigest()] for name, data in files.items()),
        "schema": hashlib.sha256(schema).hexdigest() if schema else "",
    }
    return "sha256:" + hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def chart_info_from_files(files, source="chart_ref"):
    """Chart name, version, appVersion, default values and content digest from chart files."""
    if "Chart.yaml" not in files:
        raise HelmError("%s: Chart.yaml is missing, this is not a Helm chart" % source)
    try:
        meta = parse_yaml(files["Chart.yaml"]) or {}
    except HelmError:
        raise
    except Exception as exc:
        raise HelmError("%s: cannot parse Chart.yaml: %s" % (source, to_native(exc)))
    if not isinstance(meta, dict) or not meta.get("name") or not meta.get("version"):
        raise HelmError("%s: Chart.yaml must set name and version" % source)
    templates, other = {}, {}
    schema = b""
    values = {}
    api_version = to_text(meta.get("apiVersion") or "v1")
    for name, data in files.items():
        if name == "Chart.yaml":
            continue
        if name == "values.yaml":
            try:
                values = parse_yaml(data) or {}
            except Exception as exc:
                raise HelmError("%s: cannot parse values.yaml: %s" % (source, to_native(exc)))
        elif name == "values.schema.json":
            schema = data
        elif name in ("Chart.lock", "requirements.lock", "requirements.yaml"):
            if name.startswith("requirements") and api_version == "v1":
                other[name] = data
        elif name.startswith("templates/"):
            templates[name] = data
        elif name.startswith("charts/"):
            if name.endswith(".prov"):
                other[name] = data
        else:
            other[name] = data
    return {
        "name": to_text(meta["name"]),
        "version": to_text(meta["version"]),
        "app_version": to_text(meta.get("appVersion")) if meta.get("appVersion") is not None else "",
        "has_dependencies": bool(meta.get("dependencies")),
        "default_values": normalize_json(values),
        "digest": content_digest(templates, other, schema),
    }


def load_chart(path):
    """Load a local chart directory or archive; returns chart_info_from_files() plus ``path``."""
    files = load_chart_dir(path) if os.path.isdir(path) else load_chart_archive(path)
    info = chart_info_from_files(files, source="chart_ref %s" % path)
    info["path"] = path
    return info


def _b64(data):
    if not data:
        return b""
    try:
        return base64.b64decode(data)
    except (binascii.Error, TypeError, ValueError):
        return to_bytes(data)


def release_chart_digest(chart):
    """content_digest() of the chart in a full release JSON (``helm install/upgrade -o json`` → ``chart``)."""
    chart = chart or {}
    templates = dict((t.get("name"), _b64(t.get("data"))) for t in chart.get("templates") or [])
    files = dict((f.get("name"), _b64(f.get("data"))) for f in chart.get("files") or [])
    return content_digest(templates, files, _b64(chart.get("schema")))
