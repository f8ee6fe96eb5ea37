# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Parsing helm's output: releases (install/upgrade JSON and the get all --template line format), values,
history, list, times and the digest helm pull prints."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import datetime
import json
import re

from ansible.module_utils.common.text.converters import to_native, to_text

from ansible_collections.kaapana.platform.plugins.module_utils.helm_chart import content_digest, release_chart_digest
from ansible_collections.kaapana.platform.plugins.module_utils.helm_errors import HelmError
from ansible_collections.kaapana.platform.plugins.module_utils.helm_values import normalize_json


SEMVER = re.compile(
    r"^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$"
)


def split_chart_string(chart):
    """Split helm's ``<name>-<version>`` (helm list/history) into (name, version)."""
    if not chart:
        return "", ""
    positions = [i for i, ch in enumerate(chart) if ch == "-"]
    for pos in positions:
        candidate = chart[pos + 1:]
        if SEMVER.match(candidate):
            return chart[:pos], candidate
    return chart, ""


def _json_payload(text):
    """Decode the JSON document in helm's stdout (tolerates warnings printed before it)."""
    text = to_text(text or "").strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        for opener in ("{", "["):
            idx = text.find(opener)
            if idx > 0:
                try:
                    return json.loads(text[idx:])
                except ValueError:
                    continue
        raise HelmError("cannot parse helm JSON output: %s" % text[:200])


def _release_summary(fields, digest):
    """The release summary parse_release and parse_release_template return, from the release's fields under the
    summary's keys (``dependencies``: the chart's dependencies, a list or a count) and the chart content digest."""
    return {
        "name": fields.get("name"),
        "namespace": fields.get("namespace"),
        "revision": int(fields.get("revision") or 0),
        "status": fields.get("status") or "unknown",
        "description": fields.get("description") or "",
        "updated": fields.get("updated") or "",
        "chart": fields.get("chart") or "",
        "chart_version": fields.get("chart_version") or "",
        "app_version": fields.get("app_version") or "",
        "has_dependencies": bool(fields.get("dependencies")),
        "chart_values": normalize_json(fields.get("chart_values") or {}),
        "digest": digest,
        "config": normalize_json(fields.get("config") or {}),
        "manifest": fields.get("manifest") or "",
    }


def parse_release(text):
    """Summary of a release from ``helm install/upgrade -o json`` (the full release, chart included)."""
    data = _json_payload(text)
    if not data:
        return None
    info = data.get("info") or {}
    chart = data.get("chart") or {}
    meta = chart.get("metadata") or {}
    return _release_summary({
        "name": data.get("name"),
        "namespace": data.get("namespace"),
        "revision": data.get("version"),
        "status": info.get("status"),
        "description": info.get("description"),
        "updated": info.get("last_deployed"),
        "chart": meta.get("name"),
        "chart_version": meta.get("version"),
        "app_version": meta.get("appVersion"),
        "dependencies": meta.get("dependencies"),
        "chart_values": chart.get("values"),
        "config": data.get("config"),
        "manifest": data.get("manifest"),
    }, release_chart_digest(chart))


# ``helm status -o json`` strips the chart from its output and ``helm get values`` is a second call, so the
# release is read with ONE ``helm get all --template`` (a documented helm 3 flag; the template sees the
# release object). helm's template has no JSON function, so the template writes a small line format:
# ``key=<value>`` per line, where a value is ``s<hex>;`` (string, hex of its bytes), ``n<number>;``,
# ``b<true|false>;``, ``z;`` (null), ``m`` (s-key value)* ``e`` (mapping), ``l`` value* ``e`` (list) or
# ``u<hex>;`` (anything else, as text). Templates and files are written as their bytes in hex, so the content
# digest is computed from exactly what helm stored.
RELEASE_TEMPLATE = "".join([
    '{{- define "v" -}}{{- $t := printf "%T" . -}}',
    '{{- if eq $t "string" -}}s{{ printf "%x" . }};',
    '{{- else if eq $t "bool" -}}b{{ . }};',
    '{{- else if eq $t "map[string]interface {}" -}}m{{ range $k, $v := . }}s{{ printf "%x" $k }};'
    '{{ template "v" $v }}{{ end }}e',
    '{{- else if eq $t "[]interface {}" -}}l{{ range . }}{{ template "v" . }}{{ end }}e',
    '{{- else if eq $t "<nil>" -}}z;',
    '{{- else if or (eq $t "float64") (eq $t "int64") (eq $t "int") (eq $t "float32") (eq $t "int32") -}}'
    'n{{ printf "%v" . }};',
    '{{- else -}}u{{ printf "%x" (printf "%v" .) }};{{- end -}}{{- end -}}',
    '{{- $r := .Release -}}{{- $c := $r.Chart -}}{{- $m := $c.Metadata -}}',
    'name=s{{ printf "%x" $r.Name }};\n',
    'namespace=s{{ printf "%x" $r.Namespace }};\n',
    'revision=n{{ $r.Version }};\n',
    'status=s{{ printf "%x" (printf "%s" $r.Info.Status) }};\n',
    'description=s{{ printf "%x" $r.Info.Description }};\n',
    'updated=s{{ printf "%x" (printf "%v" $r.Info.LastDeployed) }};\n',
    'chart=s{{ printf "%x" $m.Name }};\n',
    'chart_version=s{{ printf "%x" $m.Version }};\n',
    'app_version=s{{ printf "%x" $m.AppVersion }};\n',
    'dependencies=n{{ len $m.Dependencies }};\n',
    'config={{ template "v" $r.Config }}\n',
    'chart_values={{ template "v" $c.Values }}\n',
    'schema=s{{ printf "%x" $c.Schema }};\n',
    'manifest=s{{ printf "%x" $r.Manifest }};\n',
    '{{ range $c.Templates }}template=s{{ printf "%x" .Name }};s{{ printf "%x" .Data }};\n{{ end }}',
    '{{ range $c.Files }}file=s{{ printf "%x" .Name }};s{{ printf "%x" .Data }};\n{{ end }}',
])
RELEASE_TEMPLATE_NO_MANIFEST = RELEASE_TEMPLATE.replace('manifest=s{{ printf "%x" $r.Manifest }};\n', '')


def _decode_value(text, pos=0):
    """Decode one value of the RELEASE_TEMPLATE line format; returns (value, next position)."""
    tag = text[pos]
    if tag in "snbuz":
        end = text.index(";", pos)
        raw = text[pos + 1:end]
        if tag in ("s", "u"):
            value = to_text(binascii.unhexlify(raw), errors="surrogate_or_replace")
        elif tag == "b":
            value = raw == "true"
        elif tag == "z":
            value = None
        else:
            value = int(raw) if re.match(r"^-?[0-9]+$", raw) else float(raw)
        return value, end + 1
    if tag == "m":
        pos += 1
        out = {}
        while text[pos] != "e":
            key, pos = _decode_value(text, pos)
            out[key], pos = _decode_value(text, pos)
        return out, pos + 1
    if tag == "l":
        pos += 1
        items = []
        while text[pos] != "e":
            item, pos = _decode_value(text, pos)
            items.append(item)
        return items, pos + 1
    raise ValueError("unexpected %r at %d" % (tag, pos))


def _hex_bytes(field):
    """The bytes of an s<hex>; field without decoding them as text."""
    return binascii.unhexlify(field[1:-1])


def parse_release_template(text):
    """Summary of a release from ``helm get all --template RELEASE_TEMPLATE`` (same keys as parse_release)."""
    fields = {}
    templates, files = {}, {}
    try:
        for line in to_text(text or "").splitlines():
            key, sep, value = line.strip().partition("=")
            if not sep:
                continue
            if key in ("template", "file"):
                name_end = value.index(";") + 1
                name = to_text(_hex_bytes(value[:name_end]))
                (templates if key == "template" else files)[name] = _hex_bytes(value[name_end:])
            elif key == "schema":
                fields[key] = _hex_bytes(value)
            else:
                fields[key] = _decode_value(value)[0]
    except (ValueError, IndexError, TypeError, binascii.Error) as exc:
        raise HelmError("cannot parse the output of helm get all --template: %s" % to_native(exc))
    if "name" not in fields:
        return None
    return _release_summary(fields, content_digest(templates, files, fields.get("schema") or b""))


def parse_values(text):
    """``helm get values -o json`` → dict (helm prints ``null`` when no user values were given)."""
    data = _json_payload(text)
    return normalize_json(data or {})


def parse_history(text):
    """``helm history -o json`` → list of {revision:int, status, chart, app_version, description, updated}."""
    data = _json_payload(text) or []
    out = []
    for item in data:
        out.append({
            "revision": int(item.get("revision") or 0),
            "status": item.get("status") or "",
            "chart": item.get("chart") or "",
            "app_version": item.get("app_version") or "",
            "description": item.get("description") or "",
            "updated": item.get("updated") or "",
        })
    return sorted(out, key=lambda r: r["revision"])


_HELM_TIME = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}:\d{2})(?P<frac>\.\d+)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?"
)


def parse_helm_time(text):
    """Parse helm's time formats (RFC 3339 or Go's default String()) into an aware UTC datetime."""
    match = _HELM_TIME.match(to_text(text or "").strip())
    if not match:
        return None
    frac = (match.group("frac") or ".0")[1:7].ljust(6, "0")
    tz = match.group("tz") or "Z"
    if tz == "Z":
        offset = datetime.timedelta(0)
    else:
        sign = -1 if tz[0] == "-" else 1
        digits = tz[1:].replace(":", "")
        offset = sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    stamp = datetime.datetime.strptime(match.group("date") + " " + match.group("time"), "%Y-%m-%d %H:%M:%S")
    stamp = stamp.replace(microsecond=int(frac), tzinfo=datetime.timezone(offset))
    return stamp.astimezone(datetime.timezone.utc)


LIST_TIME_FORMAT = "2006-01-02T15:04:05.000000Z07:00"
RELEASE_STATES = ("deployed", "failed", "pending-install", "pending-upgrade", "pending-rollback",
                  "uninstalling", "uninstalled", "superseded", "unknown")


def parse_list(text):
    """``helm list -o json`` → list of release dicts with typed fields (chart split into name/version)."""
    data = _json_payload(text) or []
    out = []
    for item in data:
        name, version = split_chart_string(item.get("chart") or "")
        stamp = parse_helm_time(item.get("updated"))
        out.append({
            "name": item.get("name") or "",
            "namespace": item.get("namespace") or "",
            "revision": int(item.get("revision") or 0),
            "status": item.get("status") or "",
            "chart": name,
            "chart_version": version,
            "app_version": item.get("app_version") or "",
            "updated": stamp.isoformat() if stamp else (item.get("updated") or ""),
        })
    return out


def filter_and_sort_releases(releases, states=None, namespaces=None):
    """Keep releases in the given states/namespaces and sort newest first (ties by namespace/name)."""
    keep = []
    for rel in releases:
        if states and rel["status"] not in states:
            continue
        if namespaces and rel["namespace"] not in namespaces:
            continue
        keep.append(rel)
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    keep.sort(key=lambda r: (r["namespace"], r["name"]))
    keep.sort(key=lambda r: parse_helm_time(r["updated"]) or epoch, reverse=True)
    return keep


def parse_pull_digest(text):
    """The OCI manifest digest helm prints on pull (``Digest: sha256:...``)."""
    match = re.search(r"^Digest:\s*(sha256:[0-9a-f]{64})\s*$", to_text(text or ""), re.MULTILINE)
    return match.group(1) if match else None
