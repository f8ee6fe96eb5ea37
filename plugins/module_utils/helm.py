# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Shared code of kaapana.platform.helm_release and helm_release_info.

The module is split in two halves:

* pure functions (validation, value merging, command building, output parsing, chart
  loading and digests, desired-vs-deployed comparison, recovery decisions and error
  classification) that unit tests call directly, and
* ``HelmRunner`` (a thin wrapper around ``module.run_command`` that records every command,
  masked) and ``ReleaseManager`` (the orchestration used by the modules).

Only the Helm 3 CLI is used; no Helm plugin is needed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import copy
import datetime
import hashlib
import json
import os
import posixpath
import re
import time
import shlex
import tarfile
import traceback

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text

from ansible_collections.kaapana.platform.plugins.module_utils.k8s_args import K8S_AUTH_ARG_SPEC

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    yaml = None
    HAS_YAML = False
    YAML_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_YAML = True
    YAML_IMPORT_ERROR = None


MASK = "********"

# --------------------------------------------------------------------------------------
# Argument specs shared by the modules (documented in doc_fragments/helm_common.py and
# doc_fragments/k8s_auth.py).
# --------------------------------------------------------------------------------------


def k8s_auth_argument_spec():
    """kubeconfig / context, as documented by the kaapana.platform.k8s_auth fragment."""
    return copy.deepcopy(K8S_AUTH_ARG_SPEC)


def helm_common_argument_spec():
    """kubeconfig / context / helm_binary, as documented by kaapana.platform.helm_common."""
    spec = k8s_auth_argument_spec()
    spec["helm_binary"] = dict(type="str", default="helm")
    return spec


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Helm's own rule (pkg/chartutil/validate_name.go): DNS-1123 subdomain, at most 53 characters.
RELEASE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
GO_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|\u00b5s|ms|s|m|h))+$")
SEMVER = re.compile(
    r"^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$"
)


def validate_namespace(namespace):
    """Return an error message naming the option, or None when the namespace is a DNS-1123 label."""
    if not isinstance(namespace, str) or not namespace:
        return "namespace must be a non-empty string (a DNS-1123 label)"
    if len(namespace) > 63 or not DNS1123_LABEL.match(namespace):
        return ("namespace %r is invalid: it must be a DNS-1123 label (at most 63 characters, lower-case "
                "letters, digits and '-', starting and ending with a letter or digit)" % namespace)
    return None


def validate_release_name(name):
    """Return an error message naming the option, or None when helm accepts the release name."""
    if not isinstance(name, str) or not name:
        return "name must be a non-empty string"
    if len(name) > 53 or not RELEASE_NAME.match(name):
        return ("name %r is not a valid Helm release name: at most 53 characters, lower-case letters, digits, "
                "'-' and '.', starting and ending with a letter or digit" % name)
    return None


def normalize_timeout(timeout):
    """Turn the timeout option into a Go duration for ``--timeout``.

    Plain integers are seconds; Go durations (``300s``, ``5m``, ``1h30m``) pass unchanged.
    Returns ``(duration, error)``.
    """
    if timeout is None:
        return None, None
    text = to_text(timeout).strip()
    if re.match(r"^[0-9]+$", text):
        return text + "s", None
    if GO_DURATION.match(text):
        return text, None
    return None, ("timeout %r is not a duration: give seconds (300) or a Go duration such as 300s, 10m or 1h30m"
                  % to_native(timeout))


# --------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------


def deep_merge(base, override):
    """Deep-merge two mappings like helm merges -f files: mappings merge, anything else replaces.

    Neither argument is modified.
    """
    result = copy.deepcopy(base) if base else {}
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def merge_values(file_values, values):
    """Merge the contents of ``values_files`` (in order) and then ``values`` on top."""
    merged = {}
    for item in file_values or []:
        merged = deep_merge(merged, item)
    return deep_merge(merged, values or {})


if HAS_YAML:
    class _ValuesLoader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
        """SafeLoader without the timestamp resolver: like helm, dates stay strings."""

    _ValuesLoader.yaml_implicit_resolvers = dict(
        (key, [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"])
        for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    )
else:  # pragma: no cover
    _ValuesLoader = None


def parse_yaml(text):
    """Parse YAML the way the values and Chart.yaml of a chart are parsed (no timestamps)."""
    if not HAS_YAML:
        raise HelmError(missing_required_lib("PyYAML"))
    return yaml.load(text, Loader=_ValuesLoader)  # nosec B506 - SafeLoader subclass


def load_values_file(path):
    """Read one ``values_files`` entry on the module host; the result must be a mapping."""
    if not os.path.isfile(path):
        raise HelmError("values_files: %s does not exist or is not a file" % path)
    try:
        with open(path, "rb") as handle:
            data = parse_yaml(handle.read())
    except HelmError:
        raise
    except Exception as exc:  # yaml errors, decoding errors
        raise HelmError("values_files: %s is not valid YAML: %s" % (path, to_native(exc)))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise HelmError("values_files: %s must contain a mapping at the top level, not a %s"
                        % (path, type(data).__name__))
    return data


def check_values_mapping(values):
    """The ``values`` option must be a mapping (Ansible passes the raw value through)."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise HelmError("values must be a mapping (dict) of chart values, not a %s" % type(values).__name__)
    return values


def normalize_json(value):
    """Normalize a decoded YAML/JSON value so that helm's JSON and Python values compare equal.

    Keys become strings, integral floats become ints (Go writes float64(3) as ``3``), tuples lists.
    """
    if isinstance(value, dict):
        return dict((to_text(k), normalize_json(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [normalize_json(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (bytes, bytearray)):
        return to_text(value)
    return value


def values_to_text(values):
    """Human-readable, stable rendering of values for diffs."""
    if HAS_YAML:
        return yaml.safe_dump(values or {}, default_flow_style=False, sort_keys=True)
    return json.dumps(values or {}, indent=2, sort_keys=True) + "\n"  # pragma: no cover


# --------------------------------------------------------------------------------------
# Masking
# --------------------------------------------------------------------------------------

SECRET_FLAGS = ("--password", "-p", "--token", "--kube-token")


def mask_text(text, secrets):
    """Replace every secret in text with ********."""
    if text is None:
        return text
    out = to_text(text)
    for secret in sorted((s for s in secrets or () if s), key=len, reverse=True):
        out = out.replace(to_text(secret), MASK)
    return out


def mask_command(argv, secrets=()):
    """Render argv as a shell-quoted string with secrets and secret flag values masked."""
    masked = []
    hide_next = False
    for arg in argv:
        arg = to_text(arg)
        if hide_next:
            masked.append(MASK)
            hide_next = False
            continue
        if arg in SECRET_FLAGS:
            masked.append(arg)
            hide_next = True
            continue
        flag, sep, _value = arg.partition("=")
        if sep and flag in SECRET_FLAGS:
            masked.append(flag + "=" + MASK)
            continue
        masked.append(mask_text(arg, secrets))
    return " ".join(_quote(a) for a in masked)


def _quote(arg):
    """shlex.quote, but leaves the mask (and other '*' in otherwise safe words) readable."""
    if arg and not re.search(r"[^\w@%+=:,./*^$-]", arg):
        return arg
    return shlex.quote(arg)


# --------------------------------------------------------------------------------------
# Chart references
# --------------------------------------------------------------------------------------


def chart_source(chart_ref, repo_url=None, path_exists=os.path.exists):
    """Classify chart_ref: ``oci``, ``url``, ``local`` or ``repo``. Raises HelmError when unusable."""
    if not chart_ref:
        raise HelmError("chart_ref is required when state=present")
    if chart_ref.startswith("oci://"):
        if repo_url:
            raise HelmError("repo_url cannot be used with an oci:// chart_ref; drop repo_url")
        return "oci"
    if chart_ref.startswith(("http://", "https://")):
        return "url"
    if path_exists(chart_ref):
        return "local"
    if chart_ref.startswith(("/", ".", "~")) or chart_ref.endswith(".tgz"):
        raise HelmError("chart_ref %s: local chart path not found on the module host" % chart_ref)
    if repo_url or "/" in chart_ref:
        return "repo"
    raise HelmError("chart_ref %r is neither oci://..., a URL, an existing local path nor repo/chart; "
                    "give the repository with repo_url or use repo/chart" % chart_ref)


def oci_host(chart_ref):
    """Registry host[:port] of an oci:// reference."""
    if not chart_ref or not chart_ref.startswith("oci://"):
        return None
    rest = chart_ref[len("oci://"):]
    return rest.split("/", 1)[0] or None


def oci_chart_name(chart_ref):
    """Chart name of an oci:// reference (last path element without tag or digest)."""
    rest = chart_ref[len("oci://"):].split("@", 1)[0]
    last = rest.rstrip("/").rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


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


# --------------------------------------------------------------------------------------
# Parsing helm output
# --------------------------------------------------------------------------------------


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


def parse_release(text):
    """Summary of a release from ``helm install/upgrade -o json`` (the full release, chart included)."""
    data = _json_payload(text)
    if not data:
        return None
    info = data.get("info") or {}
    chart = data.get("chart") or {}
    meta = chart.get("metadata") or {}
    return {
        "name": data.get("name"),
        "namespace": data.get("namespace"),
        "revision": int(data.get("version") or 0),
        "status": info.get("status") or "unknown",
        "description": info.get("description") or "",
        "updated": info.get("last_deployed") or "",
        "chart": meta.get("name") or "",
        "chart_version": meta.get("version") or "",
        "app_version": meta.get("appVersion") or "",
        "has_dependencies": bool(meta.get("dependencies")),
        "chart_values": normalize_json(chart.get("values") or {}),
        "digest": release_chart_digest(chart),
        "config": normalize_json(data.get("config") or {}),
        "manifest": data.get("manifest") or "",
    }


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
        "digest": content_digest(templates, files, fields.get("schema") or b""),
        "config": normalize_json(fields.get("config") or {}),
        "manifest": fields.get("manifest") or "",
    }


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


# --------------------------------------------------------------------------------------
# Error classification
# --------------------------------------------------------------------------------------

AUTH_ERROR = re.compile(
    r"\b401\b|\b403\b|unauthori[sz]ed|forbidden|basic credential not found|authentication required|"
    r"denied: requested access|no basic auth credentials|incorrect username or password",
    re.IGNORECASE,
)
K8S_UNREACHABLE = re.compile(
    r"kubernetes cluster unreachable|the server could not find the requested resource|"
    r"unable to connect to the server|connect: connection refused|no such host|i/o timeout|"
    r"tls: failed to verify certificate|x509: certificate|context deadline exceeded \(Client\.Timeout",
    re.IGNORECASE,
)


def is_auth_error(stderr):
    return bool(AUTH_ERROR.search(to_text(stderr or "")))


def is_release_not_found(stderr):
    return bool(re.search(r"release: not found|release not found", to_text(stderr or "")))


# Network failures a later attempt can cure (the registry restarting, a proxy hiccup); not found and
# unauthorized are answers, not failures to reach the source, and are never retried.
TRANSIENT_PULL_ERROR = re.compile(
    r"connection refused|connection reset|i/o timeout|tls handshake timeout|unexpected eof|\beof\b|"
    r"context deadline exceeded|server misbehaving|no route to host|network is unreachable|"
    r"\b50[234]\b|bad gateway|service unavailable|gateway timeout|too many requests|\b429\b",
    re.IGNORECASE)


def is_transient_pull_error(stderr):
    """True when helm pull / registry login failed to reach the chart source in a way worth retrying."""
    text = to_text(stderr or "")
    if is_auth_error(text):
        return False
    return bool(TRANSIENT_PULL_ERROR.search(text))


def retry_delays(retries, first=2, cap=30):
    """Seconds to wait before each retry: 2, 4, 8, ... capped at ``cap``."""
    return [min(cap, first * (2 ** i)) for i in range(max(0, int(retries or 0)))]


def _last_error_line(stderr):
    lines = [ln.strip() for ln in to_text(stderr or "").splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("Error:")]
    line = errors[-1] if errors else (lines[-1] if lines else "no output")
    return line[len("Error:"):].strip() if line.startswith("Error:") else line


def classify_error(stderr, stage, chart_ref=None, chart_version=None, host=None, secrets=()):
    """Turn helm's stderr into a specific message that names the option to fix (secrets masked).

    ``stage`` is one of status, list, history, pull, login, install, upgrade, uninstall,
    rollback, template.
    """
    err = mask_text(to_text(stderr or ""), secrets)
    low = err.lower()
    detail = _last_error_line(err)
    kube_stages = ("status", "list", "history", "install", "upgrade", "uninstall", "rollback")

    if re.search(r'context "[^"]*" does not exist', err):
        return "Kubernetes context not found in the kubeconfig (%s): check the context option" % detail
    if stage in kube_stages and re.search(r"kubeconfig|invalid configuration|no configuration has been provided", low) \
            and re.search(r"no such file|not found|invalid|no configuration", low):
        return "cannot load the kubeconfig (%s): check the kubeconfig option" % detail
    if stage in kube_stages and K8S_UNREACHABLE.search(err):
        return ("Kubernetes is unreachable (%s): check the kubeconfig and context options and that the API "
                "server is up" % detail)

    if stage == "login":
        if is_auth_error(err):
            return ("registry %s refused the credentials (401/403 unauthorized): check registry.username and "
                    "registry.password" % (host or ""))
        if "server gave http response to https client" in low:
            return "registry %s speaks plain HTTP: set plain_http: true (%s)" % (host or "", detail)
        return "helm registry login to %s failed: %s" % (host or "", detail)

    if stage in ("pull", "template"):
        if "server gave http response to https client" in low:
            return "registry %s speaks plain HTTP: set plain_http: true (%s)" % (host or "", detail)
        if is_auth_error(err):
            where = ("registry %s" % host) if host else "the chart repository"
            return ("%s refused access to chart %s (401/403 unauthorized): set registry.username and "
                    "registry.password, or check them" % (where, chart_ref))
        if re.search(r"not found|no such|404|manifest unknown|name unknown|could not find|unable to locate any tags|"
                     r"no chart (version )?(found|exists)|invalid_reference|failed to fetch", low):
            what = "chart %s" % chart_ref
            if chart_version:
                what += " version %s" % chart_version
            return "%s not found (%s): check chart_ref and chart_version" % (what, detail)
        if re.search(r"connection refused|no such host|i/o timeout|dial tcp", low):
            return ("cannot reach the chart source of chart_ref %s (%s): check chart_ref, repo_url and plain_http"
                    % (chart_ref, detail))

    if re.search(r'namespaces? "[^"]+" not found', err):
        return "namespace does not exist (%s): set create_namespace: true or create it first" % detail
    if "another operation (install/upgrade/rollback) is in progress" in low:
        return ("another helm operation is in progress on this release (%s); run again to recover it, or wait "
                "until it ends" % detail)
    if "timed out waiting for the condition" in low or "context deadline exceeded" in low:
        return "helm %s timed out (%s): raise timeout, or check why the resources do not become ready" % (stage, detail)
    if "values don't meet the specifications of the schema" in low:
        return "the chart rejected the values (%s): fix values / values_files" % detail
    if re.search(r"execution error at|parse error at|error converting yaml to json|template: ", low):
        return "the chart failed to render with the given values (%s): check values / values_files" % detail
    if re.search(r"is forbidden: user", low):
        return ("Kubernetes denied the request (%s): the credentials in kubeconfig/context lack the permission"
                % detail)
    if "cannot re-use a name that is still in use" in low:
        return "release name is still in use (%s): choose another name or uninstall the old release" % detail
    return "helm %s failed: %s" % (stage, detail)


# --------------------------------------------------------------------------------------
# Command building (pure: every function returns an argv list without the helm binary)
# --------------------------------------------------------------------------------------


def _timeout_flags(wait=False, timeout=None):
    args = []
    if wait:
        args.append("--wait")
    if timeout:
        args.extend(["--timeout", timeout])
    return args


def cmd_get_release(name, namespace, manifest=True):
    """Everything the comparison needs about the newest revision, in one call (see RELEASE_TEMPLATE).
    The rendered manifest only serves diff mode; leaving it out halves what helm prints for a large release."""
    return ["get", "all", name, "--namespace", namespace, "--template",
            RELEASE_TEMPLATE if manifest else RELEASE_TEMPLATE_NO_MANIFEST]


def cmd_history(name, namespace):
    # newest 256 revisions (helm's default; --max 0 would return none)
    return ["history", name, "--namespace", namespace, "--output", "json"]


def cmd_list(namespace=None, name_filter=None):
    args = ["list", "--all", "--max", "0", "--time-format", LIST_TIME_FORMAT, "--output", "json"]
    if namespace:
        args.extend(["--namespace", namespace])
    else:
        args.append("--all-namespaces")
    if name_filter:
        args.extend(["--filter", name_filter])
    return args


def cmd_get_values(name, namespace):
    return ["get", "values", name, "--namespace", namespace, "--output", "json"]


def pick_values(values, keys):
    """The values at dotted ``keys`` (``global.instance_uid``); a key that is missing maps to None."""
    picked = {}
    for key in keys:
        node = values
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        picked[key] = node
    return picked


def cmd_pull(chart_ref, destination, chart_version=None, repo_url=None, plain_http=False):
    args = ["pull", chart_ref, "--destination", destination]
    if chart_version:
        args.extend(["--version", chart_version])
    if repo_url:
        args.extend(["--repo", repo_url])
    if plain_http and chart_ref.startswith("oci://"):
        args.append("--plain-http")
    return args


def cmd_registry_login(host, username, plain_http=False):
    """The password goes to stdin (--password-stdin), never to argv."""
    args = ["registry", "login", host, "--username", username, "--password-stdin"]
    if plain_http:
        args.append("--plain-http")
    return args


def cmd_install(name, chart_path, namespace, values_file, create_namespace=False, wait=False, timeout=None,
                atomic=False, no_hooks=False, replace=False):
    args = ["install", name, chart_path, "--namespace", namespace, "--values", values_file, "--output", "json"]
    if create_namespace:
        args.append("--create-namespace")
    args.extend(_timeout_flags(wait, timeout))
    if atomic:
        args.append("--atomic")
    if no_hooks:
        args.append("--no-hooks")
    if replace:
        args.append("--replace")
    return args


def cmd_upgrade(name, chart_path, namespace, values_file, wait=False, timeout=None, atomic=False, no_hooks=False):
    # --reset-values: the release gets exactly the merged values file, also when it is empty.
    args = ["upgrade", name, chart_path, "--namespace", namespace, "--values", values_file, "--reset-values",
            "--output", "json"]
    args.extend(_timeout_flags(wait, timeout))
    if atomic:
        args.append("--atomic")
    if no_hooks:
        args.append("--no-hooks")
    return args


def cmd_uninstall(name, namespace, wait=False, timeout=None, no_hooks=False, keep_history=False):
    args = ["uninstall", name, "--namespace", namespace]
    args.extend(_timeout_flags(wait, timeout))
    if no_hooks:
        args.append("--no-hooks")
    if keep_history:
        args.append("--keep-history")
    return args


def cmd_rollback(name, namespace, revision, wait=False, timeout=None, no_hooks=False):
    args = ["rollback", name, str(revision), "--namespace", namespace]
    args.extend(_timeout_flags(wait, timeout))
    if no_hooks:
        args.append("--no-hooks")
    return args


def cmd_template(name, chart_path, namespace, values_file, is_upgrade=False):
    args = ["template", name, chart_path, "--namespace", namespace, "--values", values_file, "--no-hooks"]
    if is_upgrade:
        args.append("--is-upgrade")
    return args


# --------------------------------------------------------------------------------------
# Comparison and decisions
# --------------------------------------------------------------------------------------


def compare_release(desired_chart, desired_values, deployed):
    """List the differences between the desired chart/values and a deployed release (empty: equal).

    * chart name, version and appVersion (Chart.yaml),
    * chart content digest: templates, files and values.schema.json as stored in the release,
    * the chart's default values (values.yaml) when the chart has no dependencies (helm
      rewrites the stored defaults of charts with dependencies),
    * the user-supplied values (``helm get values``) against the merged values/values_files.
    """
    changes = []
    if desired_chart["name"] != deployed["chart"]:
        changes.append("chart name: %s -> %s" % (deployed["chart"], desired_chart["name"]))
    if desired_chart["version"] != deployed["chart_version"]:
        changes.append("chart version: %s -> %s" % (deployed["chart_version"], desired_chart["version"]))
    if to_text(desired_chart.get("app_version") or "") != to_text(deployed.get("app_version") or ""):
        changes.append("app version: %s -> %s" % (deployed.get("app_version") or "(none)",
                                                  desired_chart.get("app_version") or "(none)"))
    if not changes:
        if desired_chart.get("digest") and desired_chart["digest"] != deployed.get("digest"):
            changes.append("chart content (templates/files) differs at the same chart version")
        elif not desired_chart.get("has_dependencies") and not deployed.get("has_dependencies") \
                and "default_values" in desired_chart \
                and normalize_json(desired_chart["default_values"]) != deployed.get("chart_values"):
            changes.append("chart default values (values.yaml) differ at the same chart version")
    if normalize_json(desired_values or {}) != normalize_json(deployed.get("config") or {}):
        changes.append("values differ from the deployed user-supplied values")
    return changes


PENDING_ROLLBACK_STATES = ("pending-upgrade", "pending-rollback")
REINSTALL_STATES = ("pending-install", "uninstalling")


def decide_present(status, changes, upgrade=True, atomic=False):
    """What state=present does with a release in ``status`` (None: no release).

    Returns one of: ``install``, ``install-replace`` (name kept by an uninstalled release),
    ``reinstall`` (uninstall, then install), ``rollback`` (to the last deployed revision, then
    compare again), ``upgrade``, ``drift`` (differences, but upgrade=false) or ``none``.
    """
    if status is None:
        return "install"
    if status == "uninstalled":
        return "install-replace"
    if status in REINSTALL_STATES:
        return "reinstall"
    if status in PENDING_ROLLBACK_STATES:
        return "rollback"
    if status == "failed":
        return "rollback" if atomic else "upgrade"
    if status in ("deployed", "superseded"):
        if not changes:
            return "none"
        return "upgrade" if upgrade else "drift"
    raise HelmError("release is in status %r, which this module cannot recover; inspect it with helm history" % status)


def decide_absent(status):
    """``uninstall`` or ``none`` for state=absent."""
    if status is None or status == "uninstalled":
        return "none"
    return "uninstall"


def pick_rollback_revision(history, current_revision):
    """Newest revision before ``current_revision`` that was deployed (deployed or superseded).

    Returns None when there is none (e.g. history trimmed by --history-max).
    """
    best = None
    for item in history:
        if item["revision"] < current_revision and item["status"] in ("deployed", "superseded"):
            if best is None or item["revision"] > best:
                best = item["revision"]
    return best


def recovery_message(status, action, revision=None, target=None):
    """Human-readable `recovered` text."""
    if action == "reinstall":
        return "%s: uninstalled revision %s and installed again" % (status, revision)
    if action == "rollback":
        if target is None:
            return "%s: no earlier deployed revision, re-applied revision %s with helm rollback" % (status, revision)
        return "%s: rolled back revision %s to last deployed revision %s" % (status, revision, target)
    if action == "upgrade":
        return "%s: upgraded failed revision %s" % (status, revision)
    return None


def manifest_documents(manifest):
    """Normalized manifest text for comparisons/diffs: documents stripped, empty ones dropped."""
    docs = []
    for doc in re.split(r"(?m)^---\s*$", to_text(manifest or "")):
        doc = "\n".join(line.rstrip() for line in doc.strip().splitlines())
        if doc:
            docs.append(doc)
    return "---\n" + "\n---\n".join(docs) + "\n" if docs else ""


# --------------------------------------------------------------------------------------
# Runner and release manager
# --------------------------------------------------------------------------------------


class HelmError(Exception):
    """An error with a message fit for the user (secrets already masked)."""

    def __init__(self, msg, **kwargs):
        super(HelmError, self).__init__(msg)
        self.msg = msg
        self.extra = kwargs


class HelmRunner:
    """Runs helm through module.run_command, records every command (masked)."""

    def __init__(self, module, binary="helm", kubeconfig=None, context=None, secrets=()):
        self.module = module
        self.secrets = [s for s in secrets if s]
        self.commands = []
        if os.sep in binary:
            self.binary = binary
        else:
            self.binary = module.get_bin_path(binary, required=False)
            if not self.binary:
                raise HelmError("helm_binary %r not found in PATH: install helm 3 or set helm_binary" % binary)
        self.environ = {}
        if kubeconfig:
            self.environ["KUBECONFIG"] = kubeconfig
        if context:
            self.environ["HELM_KUBECONTEXT"] = context

    def add_secret(self, secret):
        if secret and secret not in self.secrets:
            self.secrets.append(secret)

    def run(self, args, data=None):
        """Run ``helm <args>``; returns (rc, stdout, stderr) with stderr masked."""
        argv = [self.binary] + list(args)
        shown = [("<release-template>" if arg in (RELEASE_TEMPLATE, RELEASE_TEMPLATE_NO_MANIFEST) else arg) for arg in argv]
        self.commands.append(mask_command(shown, self.secrets))
        rc, out, err = self.module.run_command(argv, data=data, environ_update=self.environ, check_rc=False)
        return rc, out, mask_text(err, self.secrets)


class ReleaseManager:
    """state=present/absent logic of helm_release on top of a HelmRunner."""

    def __init__(self, module, runner, params, check_mode=False, diff_mode=False, tmpdir=None):
        self.module = module
        self.runner = runner
        self.p = params
        self.check_mode = check_mode
        self.diff_mode = diff_mode
        self.tmpdir = tmpdir or module.tmpdir
        self.warnings = []
        self.registry = params.get("registry") or {}
        self.secrets = [self.registry.get("password")] if self.registry.get("password") else []
        self._values_file = None
        self.timeout, err = normalize_timeout(params.get("timeout"))
        if err:
            raise HelmError(err)

    # -- helpers -----------------------------------------------------------------------
    def _fail_on(self, rc, err, stage, **kw):
        if rc != 0:
            raise HelmError(classify_error(err, stage, chart_ref=self.p.get("chart_ref"),
                                           chart_version=self.p.get("chart_version"),
                                           host=kw.get("host"), secrets=self.secrets))

    def status(self):
        rc, out, err = self.runner.run(cmd_get_release(self.p["name"], self.p["namespace"], manifest=self.diff_mode))
        if rc != 0:
            if is_release_not_found(err):
                return None
            self._fail_on(rc, err, "status")
        return parse_release_template(out)

    def values_file(self, values):
        if self._values_file is None:
            path = os.path.join(self.tmpdir, "kaapana-helm-values.json")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            # JSON is YAML, but helm's YAML parser rejects \u surrogate pairs: write UTF-8, not ASCII escapes
            with os.fdopen(fd, "wb") as handle:
                handle.write(to_bytes(json.dumps(values, sort_keys=True, ensure_ascii=False), errors="surrogate_or_strict"))
            self._values_file = path
        return self._values_file

    def _run_retrying(self, argv, stage, host=None, data=None):
        """runner.run, tried again after transient network errors (pull_retries). When every attempt failed
        that way, fails with the classified message and the number of attempts."""
        delays = retry_delays(self.p.get("pull_retries", 3))
        rc, out, err = self.runner.run(argv, data=data)
        attempts = 1
        for delay in delays:
            if rc == 0 or not is_transient_pull_error(err):
                break
            self.sleep(delay)
            rc, out, err = self.runner.run(argv, data=data)
            attempts += 1
        if rc != 0 and attempts > 1 and is_transient_pull_error(err):
            raise HelmError("%s; gave up after %d attempts over %d s (pull_retries=%d)" % (
                classify_error(err, stage, chart_ref=self.p.get("chart_ref"), chart_version=self.p.get("chart_version"),
                               host=host, secrets=self.secrets),
                attempts, sum(delays[:attempts - 1]), len(delays)))
        return rc, out, err

    def sleep(self, seconds):
        time.sleep(seconds)

    def login(self, host):
        username = self.registry.get("username")
        password = self.registry.get("password")
        rc, _out, err = self._run_retrying(cmd_registry_login(host, username, self.p.get("plain_http")), "login", host,
                                           data=password)
        self._fail_on(rc, err, "login", host=host)

    def resolve_chart(self):
        """Chart info (name, version, digest, ...) and a local path usable by install/upgrade/template."""
        ref = self.p["chart_ref"]
        source = chart_source(ref, self.p.get("repo_url"))
        if source == "local":
            chart = load_chart(os.path.expanduser(ref))
            if self.p.get("chart_version") and self.p["chart_version"] != chart["version"]:
                raise HelmError("chart_version %s does not match version %s of the local chart at chart_ref %s"
                                % (self.p["chart_version"], chart["version"], ref))
            return chart
        dest = os.path.join(self.tmpdir, "chart-pull")
        if not os.path.isdir(dest):
            os.makedirs(dest, 0o700)
        host = oci_host(ref)
        has_creds = bool(self.registry.get("username") and self.registry.get("password"))
        if self.registry.get("host"):
            host = self.registry["host"]
        if source == "oci" and has_creds and host:
            # The credentials live for this run only: helm keeps what it logs in with in a registry configuration
            # in the module's private temporary directory, removed when the module ends, never in ~/.config/helm
            # (it stores user:password there, merely base64-encoded).
            self.runner.environ["HELM_REGISTRY_CONFIG"] = os.path.join(self.tmpdir, "helm-registry-config.json")
            self.login(host)
        argv = cmd_pull(ref, dest, self.p.get("chart_version"), self.p.get("repo_url"), self.p.get("plain_http"))
        rc, out, err = self._run_retrying(argv, "pull", host)
        self._fail_on(rc, err, "pull", host=host)
        archives = [f for f in os.listdir(dest) if f.endswith(".tgz")]
        if len(archives) != 1:
            raise HelmError("helm pull of chart_ref %s left %d archives, expected one" % (ref, len(archives)))
        chart = load_chart(os.path.join(dest, archives[0]))
        chart["oci_digest"] = parse_pull_digest(out) or parse_pull_digest(err)
        if source == "oci" and oci_chart_name(ref) != chart["name"]:
            self.warnings.append("chart_ref %s holds chart %s" % (ref, chart["name"]))
        return chart

    def render(self, chart, values, is_upgrade):
        rc, out, err = self.runner.run(cmd_template(self.p["name"], chart["path"], self.p["namespace"],
                                                    self.values_file(values), is_upgrade))
        if rc != 0:
            self.warnings.append("diff: cannot render the chart with helm template: %s"
                                 % classify_error(err, "template", chart_ref=self.p.get("chart_ref"),
                                                  secrets=self.secrets))
            return None
        return out

    def make_diff(self, deployed, chart, values):
        before_values = deployed["config"] if deployed else {}
        before_manifest = deployed["manifest"] if deployed and deployed["status"] != "uninstalled" else ""
        diff = [{
            "before_header": "values (deployed)", "after_header": "values (desired)",
            "before": values_to_text(before_values), "after": values_to_text(values),
        }]
        if chart is not None:
            rendered = self.render(chart, values, is_upgrade=bool(before_manifest))
            if rendered is not None:
                diff.append({
                    "before_header": "manifest (helm get manifest)", "after_header": "manifest (helm template)",
                    "before": manifest_documents(before_manifest), "after": manifest_documents(rendered),
                })
        return diff

    def _opts(self):
        return dict(wait=self.p.get("wait"), timeout=self.timeout, no_hooks=self.p.get("no_hooks"))

    def install(self, chart, values, replace=False):
        argv = cmd_install(self.p["name"], chart["path"], self.p["namespace"], self.values_file(values),
                           create_namespace=self.p.get("create_namespace"), atomic=self.p.get("atomic"),
                           replace=replace, **self._opts())
        rc, out, err = self.runner.run(argv)
        self._fail_on(rc, err, "install")
        return parse_release(out)

    def upgrade(self, chart, values):
        argv = cmd_upgrade(self.p["name"], chart["path"], self.p["namespace"], self.values_file(values),
                           atomic=self.p.get("atomic"), **self._opts())
        rc, out, err = self.runner.run(argv)
        self._fail_on(rc, err, "upgrade")
        return parse_release(out)

    def uninstall(self, no_hooks=None):
        opts = self._opts()
        if no_hooks is not None:
            opts["no_hooks"] = no_hooks
        argv = cmd_uninstall(self.p["name"], self.p["namespace"], keep_history=self.p.get("keep_history"), **opts)
        rc, _out, err = self.runner.run(argv)
        if rc != 0 and is_release_not_found(err):
            return
        self._fail_on(rc, err, "uninstall")

    def rollback(self, revision):
        rc, _out, err = self.runner.run(cmd_rollback(self.p["name"], self.p["namespace"], revision, **self._opts()))
        self._fail_on(rc, err, "rollback")

    def history(self):
        rc, out, err = self.runner.run(cmd_history(self.p["name"], self.p["namespace"]))
        self._fail_on(rc, err, "history")
        return parse_history(out)

    # -- main entry points ------------------------------------------------------------------
    def desired_values(self):
        file_values = [load_values_file(os.path.expanduser(path)) for path in self.p.get("values_files") or []]
        return normalize_json(merge_values(file_values, check_values_mapping(self.p.get("values"))))

    def run(self):
        for err in (validate_release_name(self.p["name"]), validate_namespace(self.p["namespace"])):
            if err:
                raise HelmError(err)
        if self.p.get("state", "present") == "absent":
            return self.ensure_absent()
        values = self.desired_values()
        if not self.p.get("chart_ref"):
            raise HelmError("chart_ref is required when state=present")
        return self.ensure_present(values)

    def result(self, changed, release, **extra):
        res = dict(changed=changed, name=self.p["name"], namespace=self.p["namespace"],
                   status=None, revision=None, chart=None, chart_version=None, app_version=None,
                   recovered=None, changes=[], drift=False)
        if release:
            res.update(status=release["status"], revision=release["revision"], chart=release["chart"] or None,
                       chart_version=release["chart_version"] or None, app_version=release["app_version"] or None)
        res.update(extra)
        return res

    def ensure_absent(self):
        release = self.status()
        action = decide_absent(release["status"] if release else None)
        if action == "none":
            return self.result(False, release)
        planned = "uninstall release %s (status %s, revision %s)" % (self.p["name"], release["status"], release["revision"])
        extra = {"changes": [planned]}
        if self.diff_mode:
            extra["diff"] = [{"before_header": "manifest (helm get manifest)", "after_header": "(uninstalled)",
                              "before": manifest_documents(release["manifest"]), "after": ""}]
        if not self.check_mode:
            self.uninstall()
            after = dict(release, status="uninstalled") if self.p.get("keep_history") else None
        else:
            after = release
        res = self.result(True, after, **extra)
        if after is None:
            res.update(status="uninstalled", revision=release["revision"], chart=release["chart"],
                       chart_version=release["chart_version"], app_version=release["app_version"] or None)
        return res

    def ensure_present(self, values):
        release = self.status()
        chart = self.resolve_chart()
        status = release["status"] if release else None
        changes = compare_release(chart, values, release) if release and status != "uninstalled" else []
        action = decide_present(status, changes, upgrade=self.p.get("upgrade", True), atomic=self.p.get("atomic"))
        extra = {"chart_digest": chart["digest"]}
        if chart.get("oci_digest"):
            extra["oci_digest"] = chart["oci_digest"]

        if action == "none":
            return self.result(False, release, **extra)

        if action == "drift":
            self.warnings.append("release %s differs from the desired state but upgrade=false, so it was left "
                                 "alone: %s" % (self.p["name"], "; ".join(changes)))
            if self.diff_mode:
                extra["diff"] = self.make_diff(release, chart, values)
            return self.result(False, release, changes=changes, drift=True, **extra)

        recovered = None
        planned = []
        if action in ("install", "install-replace"):
            planned.append("install chart %s %s" % (chart["name"], chart["version"]))
        elif action == "reinstall":
            recovered = recovery_message(status, "reinstall", release["revision"])
            planned.extend(["uninstall release in status %s" % status,
                            "install chart %s %s" % (chart["name"], chart["version"])])
        elif action == "upgrade":
            if status == "failed":
                recovered = recovery_message(status, "upgrade", release["revision"])
                planned.append("upgrade failed release to chart %s %s" % (chart["name"], chart["version"]))
            planned.extend(changes)
        elif action == "rollback":
            target = pick_rollback_revision(self.history(), release["revision"])
            if target is None and status == "failed":
                # atomic, but nothing to roll back to: upgrade (helm allows upgrading a failed release)
                action = "upgrade"
                recovered = recovery_message(status, "upgrade", release["revision"])
                planned.append("upgrade failed release to chart %s %s" % (chart["name"], chart["version"]))
                planned.extend(changes)
            else:
                recovered = recovery_message(status, "rollback", release["revision"], target)
                planned.append("helm rollback to revision %s" % (target if target is not None else release["revision"]))
                planned.extend(changes)
                if target is None:
                    target = release["revision"]

        extra["changes"] = planned
        if self.diff_mode:
            extra["diff"] = self.make_diff(release if status not in ("uninstalled",) else None, chart, values)

        if self.check_mode:
            if recovered:
                recovered = "(check mode, not done) " + recovered
            return self.result(True, release, recovered=recovered, **extra)

        if action in ("install", "install-replace"):
            new = self.install(chart, values, replace=(action == "install-replace"))
        elif action == "reinstall":
            try:
                self.uninstall()
            except HelmError as exc:
                # An install that died half-way (pending-install) or an uninstall stuck on a hook: the chart's
                # delete hooks may target resources that never came to exist. Retry as `helm uninstall --no-hooks`.
                if self.p.get("no_hooks"):
                    raise
                self.uninstall(no_hooks=True)
                recovered += " (without hooks, after the uninstall with hooks failed: %s)" % exc.msg
            new = self.install(chart, values, replace=bool(self.p.get("keep_history")))
        elif action == "upgrade":
            new = self.upgrade(chart, values)
        else:  # rollback, then converge
            self.rollback(target)
            new = self.status()
            if new is None:
                raise HelmError("release %s disappeared during rollback" % self.p["name"])
            remaining = compare_release(chart, values, new)
            if remaining and (self.p.get("upgrade", True) or status == "failed"):
                new = self.upgrade(chart, values)
            elif remaining:
                self.warnings.append("release %s was recovered, but differs from the desired state and upgrade=false: %s"
                                     % (self.p["name"], "; ".join(remaining)))
                extra["drift"] = True
        return self.result(True, new, recovered=recovered, **extra)


def list_releases(runner, namespaces=None, name_filter=None, states=None, value_keys=None):
    """helm_release_info: releases in any state, newest first; with ``value_keys``, each release's user-supplied
    values at those dotted keys (one ``helm get values`` per release), as ``values``."""
    releases = []
    targets = list(namespaces) if namespaces else [None]
    for namespace in targets:
        if namespace is not None:
            err = validate_namespace(namespace)
            if err:
                raise HelmError("namespaces: " + err)
        rc, out, err = runner.run(cmd_list(namespace, name_filter))
        if rc != 0:
            raise HelmError(classify_error(err, "list"))
        releases.extend(parse_list(out))
    releases = filter_and_sort_releases(releases, states=states)
    for release in releases if value_keys else ():
        rc, out, err = runner.run(cmd_get_values(release["name"], release["namespace"]))
        if rc != 0:
            raise HelmError(classify_error(err, "get values"))
        release["values"] = pick_values(parse_values(out), value_keys)
    return releases
