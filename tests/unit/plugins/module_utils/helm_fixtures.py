# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Charts and releases as helm writes and stores them, for the unit tests of the helm_* module_utils."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import io
import json
import os
import tarfile

CHART_FILES = {
    "Chart.yaml": b"apiVersion: v2\nname: demo\nversion: 0.1.0\nappVersion: \"1.0\"\n",
    "values.yaml": b"replicas: 1\nimage:\n  tag: latest\n",
    "templates/cm.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
    "templates/_helpers.tpl": b"{{- define \"demo.name\" -}}demo{{- end -}}\n",
    "README.md": b"# demo\n",
}


def write_chart_dir(root, files=None, helmignore=None):
    files = dict(CHART_FILES if files is None else files)
    if helmignore is not None:
        files[".helmignore"] = helmignore
    for name, data in files.items():
        path = os.path.join(str(root), *name.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)
    return str(root)


def write_chart_tgz(path, files=None, top="demo"):
    files = CHART_FILES if files is None else files
    with tarfile.open(str(path), "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(top + "/" + name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return str(path)


def release_json(files=None, config=None, status="deployed", version=1, manifest="---\nkind: ConfigMap\n",
                 chart_values=None, dependencies=None):
    """A release as `helm status -o json` prints it, built from chart files like helm stores them."""
    files = CHART_FILES if files is None else files

    def b64(data):
        return base64.b64encode(data).decode()

    templates = [{"name": n, "data": b64(d)} for n, d in files.items() if n.startswith("templates/")]
    others = [{"name": n, "data": b64(d)} for n, d in files.items()
              if n not in ("Chart.yaml", "values.yaml", "values.schema.json") and not n.startswith(("templates/", "charts/"))]
    meta = {"name": "demo", "version": "0.1.0", "appVersion": "1.0", "apiVersion": "v2"}
    if dependencies:
        meta["dependencies"] = dependencies
    rel = {
        "name": "demo", "namespace": "ns1", "version": version,
        "info": {"status": status, "description": "Install complete", "last_deployed": "2026-01-02T03:04:05Z"},
        "chart": {"metadata": meta, "lock": None, "templates": templates,
                  "values": chart_values if chart_values is not None else {"replicas": 1, "image": {"tag": "latest"}},
                  "schema": None, "files": others},
        "manifest": manifest,
    }
    if config:
        rel["config"] = config
    return json.dumps(rel)


def _encode(value):
    """Python twin of the RELEASE_TEMPLATE value encoding (what helm's Go template writes)."""
    if isinstance(value, bool):
        return "b%s;" % ("true" if value else "false")
    if value is None:
        return "z;"
    if isinstance(value, str):
        return "s%s;" % value.encode().hex()
    if isinstance(value, (int, float)):
        return "n%s;" % value
    if isinstance(value, dict):
        return "m" + "".join(_encode(k) + _encode(v) for k, v in sorted(value.items())) + "e"
    return "l" + "".join(_encode(v) for v in value) + "e"


def release_template(text):
    """`helm get all --template RELEASE_TEMPLATE` output for a release given as helm's JSON."""
    rel = json.loads(text)
    chart, info = rel["chart"], rel["info"]
    meta = chart["metadata"]
    lines = [
        "name=" + _encode(rel["name"]), "namespace=" + _encode(rel["namespace"]),
        "revision=n%d;" % rel["version"], "status=" + _encode(info["status"]),
        "description=" + _encode(info.get("description", "")), "updated=" + _encode("2026-01-02 03:04:05 +0000 UTC"),
        "chart=" + _encode(meta["name"]), "chart_version=" + _encode(meta["version"]),
        "app_version=" + _encode(meta.get("appVersion", "")), "dependencies=n%d;" % len(meta.get("dependencies") or []),
        "config=" + _encode(rel.get("config") or {}), "chart_values=" + _encode(chart.get("values") or {}),
        "schema=s%s;" % base64.b64decode(chart.get("schema") or "").hex(),
        "manifest=" + _encode(rel.get("manifest", "")),
    ]
    for key, items in (("template", chart["templates"]), ("file", chart["files"])):
        for item in items:
            lines.append("%s=%s;s%s;" % (key, _encode(item["name"])[:-1], base64.b64decode(item["data"]).hex()))
    return "\n".join(lines) + "\n"


# Captured helm output (helm v3.21.4, lab).
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


# Both helm majors, as pytest params whose ids show the major ([helm3], [helm4]). Each major's directory holds what
# the real binary printed (helm v3.21.4 and v4.3.2), captured by fixtures/capture_helm.py.
MAJORS = (3, 4)


def major_params():
    import pytest
    return [pytest.param(major, id="helm%d" % major) for major in MAJORS]


def real_output(major, name):
    """The captured output ``name`` of the real helm of ``major``."""
    with open(os.path.join(FIXTURES, "helm%d" % major, name), encoding="utf-8") as handle:
        return handle.read()


def real_version(major):
    return real_output(major, "version.txt")
