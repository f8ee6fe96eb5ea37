# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Unit tests of the pure logic in plugins/module_utils/helm.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import io
import json
import os
import tarfile

import pytest

from ansible_collections.kaapana.platform.plugins.module_utils import helm as h


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------

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


FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


# ---------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("namespace", ["default", "kaapana-system", "a", "a1-b2", "x" * 63])
def test_valid_namespaces(namespace):
    assert h.validate_namespace(namespace) is None


@pytest.mark.parametrize("namespace", ["", "Default", "-a", "a-", "a_b", "a.b", "x" * 64, "ns/evil", None])
def test_invalid_namespaces_name_the_option(namespace):
    msg = h.validate_namespace(namespace)
    assert msg and msg.startswith("namespace")


def test_release_names():
    assert h.validate_release_name("kaapana-admin-chart") is None
    assert h.validate_release_name("a.b-c") is None
    assert "name" in h.validate_release_name("Bad_Name")
    assert h.validate_release_name("x" * 54)


@pytest.mark.parametrize("given,expected", [
    (None, None), (300, "300s"), ("300", "300s"), ("5m", "5m"), ("1h30m", "1h30m"), ("5m30s", "5m30s"), ("1.5h", "1.5h"),
])
def test_timeout_normalized(given, expected):
    assert h.normalize_timeout(given) == (expected, None)


@pytest.mark.parametrize("given", ["5 minutes", "-1", "m5", "10x"])
def test_bad_timeout_names_option(given):
    value, err = h.normalize_timeout(given)
    assert value is None and err.startswith("timeout")


# ---------------------------------------------------------------------------------------
# values
# ---------------------------------------------------------------------------------------

def test_deep_merge_is_recursive_and_pure():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    over = {"a": {"b": 2, "e": 3}, "d": {"x": 1}}
    merged = h.deep_merge(base, over)
    assert merged == {"a": {"b": 2, "c": [1, 2], "e": 3}, "d": {"x": 1}}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}


def test_merge_values_files_in_order_then_values():
    files = [{"g": {"a": 1, "b": 1}, "l": [1]}, {"g": {"b": 2}, "l": [2, 3]}]
    assert h.merge_values(files, {"g": {"c": 3}, "x": None}) == {"g": {"a": 1, "b": 2, "c": 3}, "l": [2, 3], "x": None}
    assert h.merge_values([], None) == {}


def test_load_values_file(tmp_path):
    good = tmp_path / "v.yaml"
    good.write_text("global:\n  date: 2026-01-02\n  flag: yes\n  n: 1.0\n")
    data = h.load_values_file(str(good))
    # like helm: dates stay strings; YAML 1.1 booleans
    assert data == {"global": {"date": "2026-01-02", "flag": True, "n": 1.0}}
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert h.load_values_file(str(empty)) == {}


@pytest.mark.parametrize("content", ["- a\n- b\n", "just a string\n", "42\n"])
def test_values_file_must_be_mapping(tmp_path, content):
    path = tmp_path / "v.yaml"
    path.write_text(content)
    with pytest.raises(h.HelmError) as exc:
        h.load_values_file(str(path))
    assert exc.value.msg.startswith("values_files:") and "mapping" in exc.value.msg


def test_values_file_missing_or_broken(tmp_path):
    with pytest.raises(h.HelmError, match="values_files: .* does not exist"):
        h.load_values_file(str(tmp_path / "nope.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(h.HelmError, match="values_files: .* not valid YAML"):
        h.load_values_file(str(bad))


def test_values_option_must_be_mapping():
    assert h.check_values_mapping(None) == {}
    with pytest.raises(h.HelmError, match="^values must be a mapping"):
        h.check_values_mapping(["a"])


def test_normalize_json():
    assert h.normalize_json({1: 2.0, "b": [1.5, True, None], "c": (1,)}) == {"1": 2, "b": [1.5, True, None], "c": [1]}
    assert h.normalize_json(True) is True


# ---------------------------------------------------------------------------------------
# masking and commands
# ---------------------------------------------------------------------------------------

def test_mask_command_and_text():
    argv = ["helm", "registry", "login", "host", "--username", "u", "--password", "s3cr3t", "--password=s3cr3t",
            "x=s3cr3t"]
    text = h.mask_command(argv, ["s3cr3t"])
    assert "s3cr3t" not in text
    assert "--password ********" in text and "--password=********" in text and "x=********" in text
    assert h.mask_text("a s3cr3t b", ["s3cr3t", ""]) == "a ******** b"
    assert h.mask_text(None, ["x"]) is None


def test_registry_login_password_never_on_argv():
    argv = h.cmd_registry_login("10.89.0.1:5000", "kaapana-lab", plain_http=True)
    assert argv == ["registry", "login", "10.89.0.1:5000", "--username", "kaapana-lab", "--password-stdin",
                    "--plain-http"]


def test_install_upgrade_uninstall_commands():
    assert h.cmd_install("r", "/c.tgz", "ns", "/v.json", create_namespace=True, wait=True, timeout="5m",
                         atomic=True, no_hooks=True, replace=True) == [
        "install", "r", "/c.tgz", "--namespace", "ns", "--values", "/v.json", "--output", "json",
        "--create-namespace", "--wait", "--timeout", "5m", "--atomic", "--no-hooks", "--replace"]
    assert h.cmd_upgrade("r", "/c.tgz", "ns", "/v.json") == [
        "upgrade", "r", "/c.tgz", "--namespace", "ns", "--values", "/v.json", "--reset-values", "--output", "json"]
    # timeout is honoured by uninstall as well, with or without wait
    assert h.cmd_uninstall("r", "ns", timeout="90s", no_hooks=True, keep_history=True) == [
        "uninstall", "r", "--namespace", "ns", "--timeout", "90s", "--no-hooks", "--keep-history"]
    assert h.cmd_rollback("r", "ns", 3, wait=True, timeout="1m") == [
        "rollback", "r", "3", "--namespace", "ns", "--wait", "--timeout", "1m"]


def test_pull_status_list_template_commands():
    assert h.cmd_pull("oci://h:5000/charts/c", "/d", "1.0.0", plain_http=True) == [
        "pull", "oci://h:5000/charts/c", "--destination", "/d", "--version", "1.0.0", "--plain-http"]
    # plain_http only concerns OCI
    assert "--plain-http" not in h.cmd_pull("repo/c", "/d", plain_http=True)
    assert h.cmd_pull("c", "/d", repo_url="https://charts.example.org")[-2:] == ["--repo", "https://charts.example.org"]
    # helm history --max 0 returns no revision at all: keep helm's default (newest 256)
    assert h.cmd_history("r", "ns") == ["history", "r", "--namespace", "ns", "--output", "json"]
    assert h.cmd_list()[-1] == "--all-namespaces"
    assert h.cmd_list("admin", "^kaapana")[-4:] == ["--namespace", "admin", "--filter", "^kaapana"]
    assert "--all" in h.cmd_list() and ["--max", "0"] == h.cmd_list()[2:4]
    assert h.cmd_template("r", "/c", "ns", "/v", is_upgrade=True)[-2:] == ["--no-hooks", "--is-upgrade"]


# ---------------------------------------------------------------------------------------
# chart references and loading
# ---------------------------------------------------------------------------------------

def test_chart_source(tmp_path):
    assert h.chart_source("oci://h/c") == "oci"
    assert h.chart_source("https://x/c-1.tgz") == "url"
    assert h.chart_source(str(tmp_path)) == "local"
    assert h.chart_source("stable/c") == "repo"
    assert h.chart_source("c", repo_url="https://x") == "repo"
    with pytest.raises(h.HelmError, match="chart_ref .* not found"):
        h.chart_source("./missing-chart")
    with pytest.raises(h.HelmError, match="repo_url"):
        h.chart_source("c")
    with pytest.raises(h.HelmError, match="repo_url"):
        h.chart_source("oci://h/c", repo_url="https://x")


def test_oci_parts():
    assert h.oci_host("oci://10.89.0.1:5000/charts/kaapana-admin-chart") == "10.89.0.1:5000"
    assert h.oci_host("repo/c") is None
    assert h.oci_chart_name("oci://10.89.0.1:5000/charts/kaapana-admin-chart") == "kaapana-admin-chart"
    assert h.oci_chart_name("oci://h/a/b:1.0.0") == "b"


@pytest.mark.parametrize("chart,expected", [
    ("kaapana-admin-chart-0.6.0", ("kaapana-admin-chart", "0.6.0")),
    ("kaapana-admin-chart-0.6.0-rc.1", ("kaapana-admin-chart", "0.6.0-rc.1")),
    ("my-chart-2-0.1.0", ("my-chart-2", "0.1.0")),
    ("longhorn-v1.10.1", ("longhorn", "v1.10.1")),
    ("weird", ("weird", "")),
    ("", ("", "")),
])
def test_split_chart_string(chart, expected):
    assert h.split_chart_string(chart) == expected


def test_helmignore_port():
    rules = h.HelmIgnore(["# comment", "*.bak", "/secret.txt", "docs/", "ci/*.yaml", ""])
    assert rules.ignore("a.bak", False) is True
    assert rules.ignore("sub/a.bak", False) is True  # no slash: basename match
    assert rules.ignore("secret.txt", False) is True
    assert rules.ignore("docs", True) is True
    assert rules.ignore("docs", False) is False  # trailing slash: directories only
    assert rules.ignore("ci/x.yaml", False) is True
    assert rules.ignore("ci/sub/x.yaml", False) is False  # '*' does not cross '/'
    assert rules.ignore("", True) is False
    # helm's negation is peculiar: a path that reaches a '!' rule without matching it is ignored
    negated = h.HelmIgnore(["!keep.txt"])
    assert negated.ignore("keep.txt", False) is False
    assert negated.ignore("other.txt", False) is True
    with pytest.raises(h.HelmError):
        h.HelmIgnore(["**/x"])
    classes = h.HelmIgnore(["[ab]*.txt", "[^x]?.md", "lit\\*"])
    assert classes.ignore("a1.txt", False) and classes.ignore("b.txt", False)
    assert not classes.ignore("c.txt", False)
    assert classes.ignore("y1.md", False) and not classes.ignore("x1.md", False)
    assert classes.ignore("lit*", False) and not classes.ignore("litx", False)


def test_load_chart_dir_and_tgz_agree(tmp_path):
    d = write_chart_dir(tmp_path / "demo", helmignore=b"*.bak\n")
    with open(os.path.join(d, "notes.bak"), "wb") as handle:
        handle.write(b"ignored")
    with open(os.path.join(d, "templates", ".hidden.yaml"), "wb") as handle:
        handle.write(b"ignored by helm's default rule")
    files = dict(CHART_FILES, **{".helmignore": b"*.bak\n"})
    tgz = write_chart_tgz(tmp_path / "demo-0.1.0.tgz", files)
    from_dir, from_tgz = h.load_chart(d), h.load_chart(tgz)
    assert from_dir["digest"] == from_tgz["digest"]
    assert (from_dir["name"], from_dir["version"], from_dir["app_version"]) == ("demo", "0.1.0", "1.0")
    assert from_dir["default_values"] == {"replicas": 1, "image": {"tag": "latest"}}
    assert from_dir["has_dependencies"] is False


def test_bom_is_stripped_like_helm(tmp_path):
    files = dict(CHART_FILES)
    files["templates/cm.yaml"] = h.UTF8_BOM + files["templates/cm.yaml"]
    assert h.load_chart(write_chart_tgz(tmp_path / "a.tgz", files))["digest"] == \
        h.load_chart(write_chart_tgz(tmp_path / "b.tgz"))["digest"]


def test_chart_errors(tmp_path):
    with pytest.raises(h.HelmError, match="Chart.yaml is missing"):
        h.chart_info_from_files({"values.yaml": b""})
    with pytest.raises(h.HelmError, match="name and version"):
        h.chart_info_from_files({"Chart.yaml": b"name: x\n"})
    bad = tmp_path / "bad.tgz"
    bad.write_bytes(b"not a tarball")
    with pytest.raises(h.HelmError, match="not a readable chart archive"):
        h.load_chart(str(bad))


def test_digest_of_release_matches_local_chart(tmp_path):
    local = h.load_chart(write_chart_tgz(tmp_path / "demo.tgz"))
    deployed = h.parse_release(release_json())
    assert local["digest"] == deployed["digest"]
    changed = dict(CHART_FILES)
    changed["templates/cm.yaml"] += b"  labels: {a: b}\n"
    assert h.parse_release(release_json(files=changed))["digest"] != local["digest"]


# ---------------------------------------------------------------------------------------
# parsing helm output
# ---------------------------------------------------------------------------------------

def test_parse_release_from_status_json():
    rel = h.parse_release(release_json(config={"a": 1}, status="pending-upgrade", version=4))
    assert rel["status"] == "pending-upgrade" and rel["revision"] == 4
    assert (rel["chart"], rel["chart_version"], rel["app_version"]) == ("demo", "0.1.0", "1.0")
    assert rel["config"] == {"a": 1}
    assert rel["manifest"].startswith("---")
    assert h.parse_release("") is None


def test_parse_release_tolerates_leading_noise():
    text = "WARNING: Kubernetes configuration file is group-readable\n" + release_json()
    assert h.parse_release(text)["chart"] == "demo"
    with pytest.raises(h.HelmError, match="cannot parse helm JSON"):
        h.parse_release("garbage")


def test_release_template_encoder_matches_parse_release():
    text = release_json(config={"a": {"b": [1, 1.5, None, True, "x\ny"]}}, status="failed", version=3)
    from_json, from_template = h.parse_release(text), h.parse_release_template(release_template(text))
    for key in ("name", "namespace", "revision", "status", "chart", "chart_version", "app_version", "config",
                "chart_values", "digest", "manifest", "has_dependencies"):
        assert from_json[key] == from_template[key], key


def test_parse_release_template_from_real_helm():
    """Captured from helm v3.21.4 (lab): `helm get all --template` of a `helm create` chart with tricky values."""
    with open(os.path.join(FIXTURES, "get_all_template.txt")) as handle:
        rel = h.parse_release_template(handle.read())
    with open(os.path.join(FIXTURES, "get_values.json")) as handle:
        assert rel["config"] == h.parse_values(handle.read())
    assert rel["config"]["unicode"] == u"\u00fc\u20ac\U0001f600"
    assert rel["config"]["s"] == "line1\nline2 \"quoted\" 'single' \\ back"
    assert rel["config"]["big"] == 10 ** 21 and rel["config"]["z"] is None and rel["config"]["l"][2] == {"k": []}
    assert (rel["name"], rel["status"], rel["revision"], rel["chart"], rel["chart_version"]) == \
        ("types", "deployed", 1, "demo", "0.1.0")
    assert rel["manifest"].startswith("---\n# Source: demo/")
    assert h.parse_helm_time(rel["updated"]).year == 2026
    assert rel["digest"].startswith("sha256:") and rel["chart_values"]["replicaCount"] == 1


def test_parse_release_template_errors():
    assert h.parse_release_template("") is None
    with pytest.raises(h.HelmError, match="cannot parse the output of helm get all"):
        h.parse_release_template("name=sZZ;\n")
    with pytest.raises(h.HelmError):
        h.parse_release_template("config=q;\n")


def test_get_release_command_uses_the_template():
    argv = h.cmd_get_release("r", "ns")
    assert argv[:5] == ["get", "all", "r", "--namespace", "ns"] and argv[-2:] == ["--template", h.RELEASE_TEMPLATE]


def test_get_release_command_leaves_the_manifest_out_outside_diff_mode():
    argv = h.cmd_get_release("r", "ns", manifest=False)
    template = argv[-1]
    assert template == h.RELEASE_TEMPLATE_NO_MANIFEST != h.RELEASE_TEMPLATE
    assert "$r.Manifest" not in template and "$c.Templates" in template and "$r.Config" in template
    assert h.parse_release_template("name=s%s;\n" % b"r".hex())["manifest"] == ""


def test_parse_values_and_history():
    assert h.parse_values("null\n") == {}
    assert h.parse_values('{"a": {"b": 1.0}}') == {"a": {"b": 1}}
    hist = h.parse_history(json.dumps([
        {"revision": 2, "status": "pending-upgrade", "chart": "demo-0.2.0", "app_version": "1", "description": "x",
         "updated": "2026-01-01T00:00:00Z"},
        {"revision": 1, "status": "superseded", "chart": "demo-0.1.0", "app_version": "1", "description": "x",
         "updated": "2026-01-01T00:00:00Z"},
    ]))
    assert [r["revision"] for r in hist] == [1, 2]


def test_parse_list_and_sort_newest_first():
    out = json.dumps([
        {"name": "a", "namespace": "admin", "revision": "3", "updated": "2026-01-01T10:00:00.000000Z",
         "status": "deployed", "chart": "kaapana-platform-chart-0.6.0", "app_version": "0.6.0"},
        {"name": "b", "namespace": "default", "revision": "1", "updated": "2026-01-01T12:00:00.000000+01:00",
         "status": "pending-install", "chart": "kaapana-admin-chart-0.6.0", "app_version": "0.6.0"},
        {"name": "c", "namespace": "default", "revision": "2", "updated": "2026-01-01 11:30:00.5 +0000 UTC",
         "status": "failed", "chart": "x-1.0.0", "app_version": ""},
    ])
    releases = h.parse_list(out)
    assert releases[0]["revision"] == 3 and releases[0]["chart"] == "kaapana-platform-chart"
    assert releases[0]["chart_version"] == "0.6.0"
    ordered = h.filter_and_sort_releases(releases)
    assert [r["name"] for r in ordered] == ["c", "b", "a"]  # 11:30Z, 11:00Z, 10:00Z
    assert [r["name"] for r in h.filter_and_sort_releases(releases, states=["failed", "deployed"])] == ["c", "a"]
    assert [r["name"] for r in h.filter_and_sort_releases(releases, namespaces=["admin"])] == ["a"]
    assert ordered[0]["updated"] == "2026-01-01T11:30:00.500000+00:00"


def test_parse_helm_time():
    assert h.parse_helm_time("2026-01-01T12:00:00.123456789+01:00").isoformat() == "2026-01-01T11:00:00.123456+00:00"
    assert h.parse_helm_time("nonsense") is None


def test_parse_pull_digest():
    digest = "sha256:" + "a" * 64
    assert h.parse_pull_digest("Pulled: h/c:1.0.0\nDigest: %s\n" % digest) == digest
    assert h.parse_pull_digest("nothing") is None


# ---------------------------------------------------------------------------------------
# error classification
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("stderr,stage,needle", [
    ("Error: Kubernetes cluster unreachable: Get \"https://10.89.0.1:6443/version\": dial tcp 10.89.0.1:6443: "
     "connect: connection refused", "status", "kubeconfig and context"),
    ('Error: context "nope" does not exist', "status", "context option"),
    ('Error: failed to perform "FetchReference" on source: GET "http://10.89.0.1:5000/v2/charts/x/manifests/9.9.9": '
     'response status code 404: manifest unknown', "pull", "check chart_ref and chart_version"),
    ("Error: failed to authorize: failed to fetch oauth token: basic credential not found", "pull",
     "registry.username"),
    ('Error: GET "http://h/v2/c/manifests/1": response status code 401: unauthorized', "pull", "401/403"),
    ('Error: authenticating to "10.89.0.1:5000": GET "http://10.89.0.1:5000/v2/": response status code 401: '
     'Unauthorized', "login", "refused the credentials"),
    ("Error: http: server gave HTTP response to HTTPS client", "pull", "plain_http: true"),
    ('Error: INSTALLATION FAILED: create: failed to create: namespaces "nope" not found', "install",
     "create_namespace"),
    ("Error: UPGRADE FAILED: timed out waiting for the condition", "upgrade", "raise timeout"),
    ("Error: UNINSTALLATION FAILED: context deadline exceeded", "uninstall", "timeout"),
    ("Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress", "upgrade", "in progress"),
    ("Error: INSTALLATION FAILED: values don't meet the specifications of the schema(s)", "install", "values"),
    ("Error: INSTALLATION FAILED: template: demo/templates/cm.yaml:3: executing ...", "install", "values"),
    ("Error: something new", "install", "helm install failed: something new"),
])
def test_classify_error(stderr, stage, needle):
    msg = h.classify_error(stderr, stage, chart_ref="oci://10.89.0.1:5000/charts/x", chart_version="9.9.9",
                           host="10.89.0.1:5000")
    assert needle in msg


def test_classify_error_masks_secrets():
    msg = h.classify_error("Error: weird failure with hunter2 inside", "login", host="h", secrets=["hunter2"])
    assert "hunter2" not in msg and h.MASK in msg


def test_release_not_found_and_auth_detection():
    assert h.is_release_not_found("Error: release: not found")
    assert not h.is_release_not_found("Error: chart not found")
    assert h.is_auth_error("response status code 403: denied")
    assert not h.is_auth_error("response status code 404: manifest unknown")


# ---------------------------------------------------------------------------------------
# comparison and decisions
# ---------------------------------------------------------------------------------------

def _desired(tmp_path, files=None):
    return h.load_chart(write_chart_tgz(tmp_path / "demo.tgz", files))


def test_compare_equal(tmp_path):
    deployed = h.parse_release(release_json(config={"a": {"b": 1}}))
    assert h.compare_release(_desired(tmp_path), {"a": {"b": 1.0}}, deployed) == []


def test_compare_values_change(tmp_path):
    deployed = h.parse_release(release_json(config={"a": 1}))
    assert h.compare_release(_desired(tmp_path), {"a": 2}, deployed) == \
        ["values differ from the deployed user-supplied values"]
    # removing all user values is a change too
    assert h.compare_release(_desired(tmp_path), {}, deployed)


def test_compare_version_and_content(tmp_path):
    deployed = h.parse_release(release_json())
    newer = dict(CHART_FILES, **{"Chart.yaml": b"name: demo\nversion: 0.2.0\nappVersion: \"1.0\"\n"})
    assert h.compare_release(_desired(tmp_path, newer), {}, deployed) == ["chart version: 0.1.0 -> 0.2.0"]
    edited = dict(CHART_FILES)
    edited["templates/new.yaml"] = b"kind: Secret\n"
    assert h.compare_release(_desired(tmp_path, edited), {}, deployed) == [
        "chart content (templates/files) differs at the same chart version"]
    defaults = dict(CHART_FILES, **{"values.yaml": b"replicas: 2\n"})
    assert h.compare_release(_desired(tmp_path, defaults), {}, deployed) == [
        "chart default values (values.yaml) differ at the same chart version"]


def test_compare_skips_default_values_of_charts_with_dependencies(tmp_path):
    # helm rewrites the stored default values of a chart with dependencies (import-values, subchart defaults)
    files = dict(CHART_FILES, **{"Chart.yaml": b"name: demo\nversion: 0.1.0\nappVersion: \"1.0\"\ndependencies:\n"
                                               b"  - name: sub\n    version: 0.1.0\n"})
    deployed = h.parse_release(release_json(chart_values={"replicas": 1, "sub": {"x": 1}},
                                            dependencies=[{"name": "sub", "version": "0.1.0"}]))
    assert h.compare_release(_desired(tmp_path, files), {}, deployed) == []


@pytest.mark.parametrize("status,changes,upgrade,atomic,expected", [
    (None, [], True, False, "install"),
    ("uninstalled", [], True, False, "install-replace"),
    ("pending-install", [], True, False, "reinstall"),
    ("uninstalling", [], True, False, "reinstall"),
    ("pending-upgrade", [], True, False, "rollback"),
    ("pending-rollback", [], False, False, "rollback"),
    ("failed", [], True, False, "upgrade"),
    ("failed", [], False, False, "upgrade"),
    ("failed", [], True, True, "rollback"),
    ("deployed", [], True, False, "none"),
    ("deployed", ["values"], True, False, "upgrade"),
    ("deployed", ["values"], False, False, "drift"),
])
def test_decide_present(status, changes, upgrade, atomic, expected):
    assert h.decide_present(status, changes, upgrade=upgrade, atomic=atomic) == expected


def test_decide_present_unknown_status():
    with pytest.raises(h.HelmError, match="status 'unknown'"):
        h.decide_present("unknown", [])


def test_decide_absent():
    assert h.decide_absent(None) == "none"
    assert h.decide_absent("uninstalled") == "none"
    for status in ("deployed", "failed", "pending-install", "pending-upgrade", "uninstalling"):
        assert h.decide_absent(status) == "uninstall"


def test_pick_rollback_revision():
    hist = [{"revision": 1, "status": "superseded"}, {"revision": 2, "status": "deployed"},
            {"revision": 3, "status": "failed"}, {"revision": 4, "status": "pending-upgrade"}]
    assert h.pick_rollback_revision(hist, 4) == 2
    assert h.pick_rollback_revision(hist[:1] + [{"revision": 2, "status": "pending-upgrade"}], 2) == 1
    assert h.pick_rollback_revision([{"revision": 1, "status": "pending-upgrade"}], 1) is None


def test_recovery_messages():
    assert "rolled back revision 4 to last deployed revision 2" in h.recovery_message("pending-upgrade", "rollback", 4, 2)
    assert "re-applied revision 1" in h.recovery_message("pending-upgrade", "rollback", 1, None)
    assert "uninstalled revision 1 and installed again" in h.recovery_message("pending-install", "reinstall", 1)
    assert h.recovery_message("deployed", "none") is None


def test_manifest_documents_normalizes():
    a = "---\n# Source: x\nkind: A   \n\n---\n# Source: y\nkind: B\n"
    b = "---\n# Source: x\nkind: A\n---\n# Source: y\nkind: B"
    assert h.manifest_documents(a) == h.manifest_documents(b)
    assert h.manifest_documents("") == ""


def test_argument_specs():
    spec = h.helm_common_argument_spec()
    assert set(spec) == {"kubeconfig", "context", "helm_binary"}
    assert spec["kubeconfig"]["type"] == "path"
    assert set(h.k8s_auth_argument_spec()) == {"kubeconfig", "context"}


@pytest.mark.parametrize("stderr, transient", [
    ("Error: dial tcp 10.89.0.1:5000: connect: connection refused", True),
    ("Error: Get \"https://r/v2/\": net/http: TLS handshake timeout", True),
    ("Error: unexpected status code 503 Service Unavailable", True),
    ("Error: read tcp 10.0.0.1:1->10.0.0.2:5000: read: connection reset by peer", True),
    ("Error: response status code 404: manifest unknown", False),
    ("Error: response status code 401: unauthorized: authentication required", False),
    ("Error: failed to authorize: failed to fetch oauth token: basic credential not found", False),
    ("", False),
])
def test_is_transient_pull_error(stderr, transient):
    assert h.is_transient_pull_error(stderr) is transient


def test_retry_delays_double_and_cap():
    assert h.retry_delays(0) == []
    assert h.retry_delays(3) == [2, 4, 8]
    assert h.retry_delays(6) == [2, 4, 8, 16, 30, 30]
    assert h.retry_delays(None) == []
