"""scripts/real_chart_check.py: the pure parts (no Kaapana tree, no helm, no cluster)."""
import importlib.util
import os
import stat
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
spec = importlib.util.spec_from_file_location("real_chart_check", os.path.join(ROOT, "scripts", "real_chart_check.py"))
rcc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rcc)


# -- values ---------------------------------------------------------------------------------------------------------
def test_values_file_is_created_0600_even_over_a_wider_file(tmp_path):
    path = tmp_path / "values.yaml"
    path.write_text("old: 1\n")
    os.chmod(path, 0o644)
    old_umask = os.umask(0)
    try:
        rcc.write_values(str(path), {"global": {"credentials_registry_password": "s3cret", "dev_mode": True}})
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert yaml.safe_load(path.read_text()) == {"global": {"credentials_registry_password": "s3cret",
                                                           "dev_mode": True}}


def test_representative_values_have_the_script_types():
    values, plan = rcc.compute_values(generated={"oidc_client_secret": "0123456789",
                                                 "deployment_timestamp": "2025-01-01T00:00:00+00:00"})
    g = values["global"]
    assert g["hostname"] == g["instance_name"] == "kaapana.example.org"
    assert g["registry_url"] == "registry.example.org/kaapana"
    assert g["main_node_name"] == "kaapana-main"
    assert g["home_dir"] == "/home/ubuntu"
    assert (g["http_port"], g["https_port"], g["dicom_port"], g["smtp_port"]) == ("80", "443", "11112", "0")
    assert g["dev_mode"] is True and g["gpu_support"] is False and g["offline_mode"] is False
    assert g["pull_policy_images"] == "Always" and g["kaapana_init_password"] == "kaapana"
    # 16000 MiB: allocatable 11200, PACS 30 % = 3360, request a third
    assert (g["pacs_memory_limit"], g["pacs_memory_request"]) == ("3360", "1120")
    assert g["storage_class_fast"] == "kaapana-hostpath-fast-data-dir"
    assert g["storage_class_slow"] == "kaapana-hostpath-slow-data-dir"
    assert g["volume_slow_data"] == "100Gi" and g["replica_count"] == "1"
    assert g["oidc_client_secret"] == "0123456789"  # digits stay a string
    assert g["internalCidrs"] == ["10.152.183.0/24", "10.1.0.0/16", "192.0.2.10/32", "192.0.2.10/32"]
    assert values["squid-proxy"] == {"upstreamHttpProxy": "", "upstreamHttpsProxy": ""}
    assert plan["layout"]["helm_namespace"] == "default" and plan["chart"]["name"] == "kaapana-admin-chart"


def test_overrides_and_facts_change_the_inventory():
    values = rcc.compute_values({"kaapana_dev_mode": False, "kaapana_instance_uid": "two",
                                 "kaapana_platform_extra_values": {"global": {"dev_files": True}}},
                                {"memtotal_mb": 8000})[0]
    g = values["global"]
    assert g["dev_mode"] is False and g["pull_policy_images"] == "IfNotPresent"
    assert g["services_namespace"] == "two-services" and g["include_reverse_proxy"] is True
    assert g["pacs_memory_limit"] == "1680" and g["dev_files"] is True


def test_a_bad_domain_is_a_usage_error():
    with pytest.raises(rcc.CheckError, match="kaapana_domain"):
        rcc.compute_values({"kaapana_domain": "https://kaapana.example.org"})


def test_deep_merge_is_ansible_combine_recursive():
    assert rcc.deep_merge({"a": {"b": 1, "c": [1]}, "d": 1}, {"a": {"c": [2], "e": 3}}) == \
        {"a": {"b": 1, "c": [2], "e": 3}, "d": 1}


def test_secrets_are_masked_but_published_defaults_are_not():
    values = {"global": {"credentials_registry_password": "tok-123456", "credentials_grafana_password": "admin",
                         "kaapana_init_password": "kaapana", "smtp_password": "", "hostname": "tok-123456.example"}}
    hidden = rcc.secret_strings(values)
    assert hidden == ["tok-123456"]
    assert rcc.mask("login tok-123456 on admin namespace", hidden) == "login ******** on admin namespace"


# -- key usage ------------------------------------------------------------------------------------------------------
def test_leaf_paths_set_path_and_perturb():
    values = {"global": {"a": "x", "b": True, "c": ["1.2.3.4/32"], "d": ""}, "squid-proxy": {"p": ""}}
    paths = rcc.leaf_paths(values)
    assert paths == [("global", "a"), ("global", "b"), ("global", "c"), ("global", "d"), ("squid-proxy", "p")]
    changed = rcc.set_path(values, ("global", "a"), "y")
    assert changed["global"]["a"] == "y" and values["global"]["a"] == "x"
    assert rcc.perturb("x") == "x-" + rcc.PROBE and rcc.perturb("") == rcc.PROBE
    assert rcc.perturb(True) is False and rcc.perturb(3) == 10
    assert rcc.perturb(["a"]) == ["a", rcc.PROBE_CIDR]


def test_usage_report_classifies_each_key():
    paths = [("global", k) for k in ("used", "broken", "conditional", "forwarded", "dead")] + [("squid-proxy", "p")]
    report = rcc.usage_report(
        paths, changed={("global", "used"), ("squid-proxy", "p")}, failed={("global", "broken"): "boom"},
        admin_refs={"conditional": {"kaapana-library-chart"}, "used": {"x"}},
        other_refs={"forwarded": {"airflow-chart", "a", "b", "c", "d"}, "conditional": {"y"}})
    assert report["consumed"] == [("global.used", ""), ("global.broken", "rendering fails when it changes: boom"),
                                  ("squid-proxy.p", "")]
    assert report["conditional"] == [("global.conditional", "read by kaapana-library-chart")]
    assert report["forwarded"] == [("global.forwarded", "read by a, airflow-chart, b, c and 1 more")]
    assert report["ignored"] == [("global.dead", "")]


def test_random_lines_do_not_count_as_a_change():
    one = 'a: 1\nsecret: "QUJD"\nname: "job-abc"\nhost: "h"\n'
    two = 'a: 1\nsecret: "WFla"\nname: "job-xyz"\nhost: "h"\n'
    volatile = rcc.volatile_lines([one, two])
    assert volatile == {1: 'secret: "', 2: 'name: "'}
    assert not rcc.render_differs(one, volatile, 'a: 1\nsecret: "Wk1O"\nname: "job-qqq"\nhost: "h"\n')
    assert rcc.render_differs(one, volatile, 'a: 1\nsecret: "Wk1O"\nname: "job-qqq"\nhost: "other"\n')
    assert rcc.render_differs(one, volatile, 'a: 2\nsecret: "QUJD"\nname: "job-abc"\nhost: "h"\n')
    assert rcc.render_differs(one, volatile, 'a: 1\nsecret: "QUJD"\nnome: "job-abc"\nhost: "h"\n')
    assert rcc.render_differs(one, volatile, one + "extra: 1\n")
    assert rcc.volatile_lines([one, one + "x\n"]) is None


def test_global_references_of_templates_conditions_and_extension_params(tmp_path):
    chart = tmp_path / "c"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("name: c\nversion: 0.0.0\n")
    (chart / "requirements.yaml").write_text("dependencies:\n- name: d\n  condition: global.cond_key\n")
    (chart / "values.yaml").write_text("global:\n  default_key: 1\nextension_params:\n  param_key: {default: ''}\n")
    (chart / "templates" / "a.yaml").write_text(
        '{{ .Values.global.plain }} {{ $.Values.global.dollar }}\n{{- $global := .Values.global -}}\n'
        '{{ $global.var_key }} {{ index $ "Values" "global" "index_key" }} {{ index .Values.global "idx2" }}\n')
    refs = rcc.global_references(str(tmp_path))
    assert {k: sorted(v) for k, v in refs.items()} == {
        "plain": ["c"], "dollar": ["c"], "var_key": ["c"], "index_key": ["c"], "idx2": ["c"], "cond_key": ["c"],
        "param_key": ["c (extension_params)"]}


def test_unset_references_and_type_mismatches():
    values = {"global": {"a": "1", "b": True, "c": ["x"]}}
    assert rcc.unset_references({"a": {"x"}, "z": {"x"}, "d": {"x"}}, values, {"d"}) == ["z"]
    assert rcc.type_mismatches(values, {"global": {"a": 1, "b": True, "c": "x", "other": 1}}) == [
        ("global.a", "string", "int"), ("global.c", "list", "string")]


SCRIPT = r'''
    HELM_INSTALL_CMD="$HELM_EXECUTABLE -n $HELM_NAMESPACE install --create-namespace"
    $HELM_INSTALL_CMD $CHART_PATH \
    --set-string global.hostname="$DOMAIN" \
    --set global.dev_mode=$DEV_MODE \
    --set global.internalCidrs="{$INTERNAL_CIDR}" \
    --set-string squid-proxy.upstreamHttpProxy="$http_proxy" \
    --set-string global.replica_count="$REPLICA_COUNT"\
    --name-template "$PLATFORM_NAME"
    # --set kube-helm-chart.timeouts.helmInstallTimeout=45 \
    helm install migration --set-string global.from_version="$FROM_VERSION"
'''


def test_script_interface_and_differences():
    interface = rcc.script_interface(SCRIPT)
    assert interface == {"global.hostname": "set-string", "global.dev_mode": "set", "global.internalCidrs": "list",
                         "squid-proxy.upstreamHttpProxy": "set-string", "global.replica_count": "set-string"}
    values = {"global": {"hostname": "h", "dev_mode": True, "internalCidrs": ["a"], "replica_count": "1"},
              "squid-proxy": {"upstreamHttpProxy": ""}}
    assert rcc.interface_differences(values, interface) == []
    values = {"global": {"hostname": True, "dev_mode": True, "internalCidrs": "a", "extra": ""},
              "squid-proxy": {"upstreamHttpProxy": ""}}
    assert rcc.interface_differences(values, interface) == [
        "the script passes global.replica_count, we do not", "we pass global.extra, the script does not",
        "global.hostname: the script passes a string, we a bool",
        "global.internalCidrs: the script passes a list, we a str"]
    assert rcc.script_interface("no helm line") == {}


# -- manifests and the server dry run --------------------------------------------------------------------------------
def test_manifest_problems_find_empty_tags_and_non_string_env_values():
    manifests = yaml.safe_dump_all([
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ok"}, "spec": {"template": {"spec": {
            "containers": [{"name": "c", "image": "reg/x:1", "env": [{"name": "A", "value": "1"}]}]}}}},
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "bad"}, "spec": {"template": {"spec": {
            "initContainers": [{"name": "i", "image": "reg/x:"}],
            "containers": [{"name": "c", "image": "reg/y:1",
                            "env": [{"name": "N", "value": 5}, {"name": "F", "valueFrom": {}}]}]}}}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}},
    ])
    assert rcc.manifest_problems(manifests) == [
        "Job/bad: container c env N is int 5, not a string",
        "Job/bad: container i has the image 'reg/x:'",
        "ConfigMap/None: a document without apiVersion, kind or metadata.name",
    ]


HELM_MAPPING_ERROR = (
    'Error: INSTALLATION FAILED: unable to build kubernetes objects from release manifest: [resource mapping not '
    'found for name: "cors" namespace: "admin" from "": no matches for kind "Middleware" in version '
    '"traefik.io/v1alpha1"\nensure CRDs are installed first, resource mapping not found for name: "forbid" '
    'namespace: "" from "": no matches for kind "ValidatingAdmissionPolicy" in version '
    '"admissionregistration.k8s.io/v1beta1"\nensure CRDs are installed first]\n')


def test_server_errors_are_split_into_chart_crds_and_missing_apis():
    shipped, missing, rest = rcc.classify_server_error(HELM_MAPPING_ERROR, {("traefik.io", "Middleware")})
    assert shipped == ["traefik.io/v1alpha1 Middleware"]
    assert missing == ["admissionregistration.k8s.io/v1beta1 ValidatingAdmissionPolicy"]
    assert rest == ""
    assert rcc.classify_server_error("Error: template: boom", set()) == ([], [], "Error: template: boom")


def test_chart_crd_kinds(tmp_path):
    crds = tmp_path / "chart" / "charts" / "traefik" / "crds"
    crds.mkdir(parents=True)
    (crds / "crds.yaml").write_text(yaml.safe_dump_all([
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
         "spec": {"group": "traefik.io", "names": {"kind": "Middleware"}}}, {"kind": "Other"}]))
    assert rcc.chart_crd_kinds(str(tmp_path / "chart")) == {("traefik.io", "Middleware")}


def test_post_renderer_drops_the_given_kinds(tmp_path):
    renderer = rcc.write_post_renderer(str(tmp_path / "pr"), {("traefik.io/v1alpha1", "Middleware")})
    assert os.access(renderer, os.X_OK)
    text = yaml.safe_dump_all([{"apiVersion": "traefik.io/v1alpha1", "kind": "Middleware", "metadata": {"name": "m"}},
                               {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}])
    out = subprocess.run([sys.executable, renderer], input=text.encode(), stdout=subprocess.PIPE, check=True).stdout
    assert [d["kind"] for d in yaml.safe_load_all(out)] == ["Service"]


# -- assembly -------------------------------------------------------------------------------------------------------
def _chart(path, name, deps=(), extra=None, requirements_repo=True):
    path.mkdir(parents=True)
    (path / "Chart.yaml").write_text(
        "apiVersion: v1\nversion: 0.0.0\nname: %s\n%s" % (name, "kaapana_type: platform\n" if extra else ""))
    if deps:
        lines = ["dependencies:"]
        for dep in deps:
            lines += ["- name: %s" % dep, "  version: 0.0.0"]
            if requirements_repo:
                lines.append("  repository: file://../%s" % dep)
        (path / "requirements.yaml").write_text("\n".join(lines) + "\n")
    (path / "templates").mkdir()
    (path / "templates" / "t.yaml").write_text("# %s\n" % name)
    for filename, text in (extra or {}).items():
        (path / filename).write_text(text)


def test_assembly_follows_the_build(tmp_path):
    tree = tmp_path / "kaapana"
    _chart(tree / "platforms" / "admin", "kaapana-admin-chart", deps=["sub", "lib"], extra={
        "values.yaml": "global:\n  keep: 1\n",
        "deployment_config.yaml": "kaapana_collections:\n- name: coll\npreinstall_extensions:\n- name: ext2\n"
                                  "- name: ext1\n"})
    _chart(tree / "services" / "sub", "sub", deps=["lib"])
    _chart(tree / "services" / "lib", "lib")
    _chart(tree / "collections" / "coll", "coll")
    _chart(tree / "ext" / "ext1", "ext1")
    _chart(tree / "ext" / "ext2", "ext2")
    _chart(tree / "build" / "stale", "kaapana-admin-chart-build-output")
    charts = rcc.index_charts(str(tree))
    assert "kaapana-admin-chart-build-output" not in charts and charts["sub"] == str(tree / "services" / "sub")
    info = {"version": "0.6.0-1-gabc", "branch": "develop", "timestamp": "2025-12-18T18:26:05+01:00"}
    target = tmp_path / "out" / "kaapana-admin-chart"
    rcc.assemble_chart(charts, "kaapana-admin-chart", str(target), info)
    for sub in ("charts/sub", "charts/lib", "charts/sub/charts/lib"):
        assert yaml.safe_load((target / sub / "Chart.yaml").read_text())["version"] == "0.6.0-1-gabc"
    assert "repository:" not in (target / "requirements.yaml").read_text()
    g = yaml.safe_load((target / "values.yaml").read_text())["global"]
    assert g["keep"] == 1 and g["kaapana_build_version"] == "0.6.0-1-gabc"
    assert g["kaapana_collections"] == [{"name": "coll", "version": "0.6.0-1-gabc"}]
    assert [e["name"] for e in g["preinstall_extensions"]] == ["ext2", "ext1"]
    assert g["platform_build_branch"] == "develop" and g["platform_last_commit_timestamp"] == info["timestamp"]
    assert "kaapana_build_version" not in (yaml.safe_load((target / "charts" / "sub" / "values.yaml").read_text())
                                           if (target / "charts" / "sub" / "values.yaml").exists() else {})


def test_assembly_errors(tmp_path):
    _chart(tmp_path / "a", "a", deps=["missing"])
    _chart(tmp_path / "b1", "b")
    with pytest.raises(rcc.CheckError, match="charts with the same name"):
        _chart(tmp_path / "b2", "b")
        rcc.index_charts(str(tmp_path))
    charts = {"a": str(tmp_path / "a")}
    with pytest.raises(rcc.CheckError, match="chart missing .needed by a. is not in the tree"):
        rcc.assemble_chart(charts, "a", str(tmp_path / "out"), {"version": "1.0.0", "branch": "", "timestamp": ""})


def test_main_reports_a_missing_tree_as_a_usage_error(tmp_path, capsys):
    assert rcc.main(["--kaapana-repo", str(tmp_path / "nope"), "--helm", "/bin/true"]) == 2
    assert "is not a directory" in capsys.readouterr().out


# -- Kaapana 0.6.1: the storage chart, the matrix ---------------------------------------------------------------------
KAAPANACTL_061 = """
function setup_storage_classes() {
    $HELM_EXECUTABLE -n kaapana-system upgrade --install kaapana-storageclass $KAAPANA_STORAGE_CHARTPATH \\
        --create-namespace \\
        --set-string global.main_node_name="$MAIN_NODE_NAME" \\
        --set-string global.replica_count="$REPLICA_COUNT" \\
        --set-string global.fast_data_dir="$FAST_DATA_DIR" \\
        --set-string global.slow_data_dir="$SLOW_DATA_DIR"
}
function deploy_chart {
    $HELM_INSTALL_CMD $CHART_PATH \\
    --set-string global.main_node_name="$MAIN_NODE_NAME" \\
    --name-template "$PLATFORM_NAME"
}
"""


def test_storage_script_interface_reads_the_storage_release_line_only():
    assert rcc.storage_script_interface(KAAPANACTL_061) == {
        "global.main_node_name": "set-string", "global.replica_count": "set-string",
        "global.fast_data_dir": "set-string", "global.slow_data_dir": "set-string"}
    assert rcc.script_interface(KAAPANACTL_061) == {"global.main_node_name": "set-string"}
    assert rcc.storage_script_interface("$HELM_INSTALL_CMD $CHART_PATH --set-string global.a=1 --name-template") == {}
    values = {"global": {"main_node_name": "n", "replica_count": 2, "fast_data_dir": "/f"}}
    assert rcc.interface_differences(values, rcc.storage_script_interface(KAAPANACTL_061)) == [
        "the script passes global.slow_data_dir, we do not",
        "global.replica_count: the script passes a string, we a int"]


def test_storage_subchart_is_found_in_the_assembled_chart(tmp_path):
    chart = tmp_path / "kaapana-admin-chart"
    (chart / "charts" / "kaapana-storage-chart").mkdir(parents=True)
    assert rcc.storage_subchart(str(chart)) == ""  # a folder without Chart.yaml is no chart
    (chart / "charts" / "kaapana-storage-chart" / "Chart.yaml").write_text("name: kaapana-storage-chart\n")
    assert rcc.storage_subchart(str(chart)) == str(chart / "charts" / "kaapana-storage-chart")


def _sc(name, provisioner, parameters, hosts=None):
    doc = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
           "provisioner": provisioner, "parameters": parameters}
    if hosts is not None:
        doc["allowedTopologies"] = [{"matchLabelExpressions": [{"key": "kubernetes.io/hostname", "values": hosts}]}]
    return doc


def _classes(fast="/home/kaapana", slow="/home/kaapana", node="kaapana-main", replicas="2"):
    return rcc.storage_classes(yaml.safe_dump_all([
        _sc("kaapana-hostpath-fast-data-dir", "microk8s.io/hostpath", {"pvDir": fast}),
        _sc("kaapana-hostpath-slow-data-dir", "microk8s.io/hostpath", {"pvDir": slow}),
        _sc("kaapana-longhorn-fast-db", "driver.longhorn.io", {"numberOfReplicas": "1"}, [node]),
        _sc("kaapana-longhorn-slow-data", "driver.longhorn.io", {"numberOfReplicas": "1"}, [node]),
        _sc("kaapana-longhorn-fast-workflow", "driver.longhorn.io", {"numberOfReplicas": replicas}),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other"}}]))


def test_storage_classes_and_their_problems():
    classes = _classes()
    assert sorted(classes) == ["kaapana-hostpath-fast-data-dir", "kaapana-hostpath-slow-data-dir",
                               "kaapana-longhorn-fast-db", "kaapana-longhorn-fast-workflow",
                               "kaapana-longhorn-slow-data"]
    assert classes["kaapana-longhorn-fast-db"]["topology"] == ["kaapana-main"]
    assert classes["kaapana-hostpath-fast-data-dir"] == {"provisioner": "microk8s.io/hostpath",
                                                         "parameters": {"pvDir": "/home/kaapana"}, "topology": []}
    values = {"global": {"storage_class_fast": "kaapana-longhorn-fast-db",
                         "storage_class_slow": "kaapana-longhorn-slow-data",
                         "storage_class_workflow": "kaapana-longhorn-fast-workflow", "main_node_name": "kaapana-main",
                         "fast_data_dir": "/home/kaapana", "slow_data_dir": "/home/kaapana"}}
    assert rcc.storage_class_problems(values, classes, 2) == []
    # an INSTANCE_UID's directories, another main node, the replica count missing (0.6.0 chart without it)
    values["global"].update(fast_data_dir="/home/kaapana-lab1", main_node_name="node-b")
    problems = rcc.storage_class_problems(values, _classes(replicas=""), "2")
    assert problems == [
        "kaapana-hostpath-fast-data-dir has pvDir '/home/kaapana', the data directory is '/home/kaapana-lab1'",
        "kaapana-longhorn-fast-db is pinned to ['kaapana-main'], the main node is 'node-b'",
        "kaapana-longhorn-slow-data is pinned to ['kaapana-main'], the main node is 'node-b'",
        "kaapana-longhorn-fast-workflow has numberOfReplicas '', the replica count is '2'"]
    # no classes at all: a 0.6.1 admin chart deployed without its storage release
    assert rcc.storage_class_problems(values, {}, 2) == [
        "global.storage_class_fast names kaapana-longhorn-fast-db, which the chart does not create",
        "global.storage_class_slow names kaapana-longhorn-slow-data, which the chart does not create",
        "global.storage_class_workflow names kaapana-longhorn-fast-workflow, which the chart does not create"]


def test_storage_values_come_from_the_plan_or_as_kaapanactl_passes_them():
    values = {"global": {"main_node_name": "kaapana-main", "fast_data_dir": "/home/kaapana-lab1",
                         "slow_data_dir": "/mnt/slow-lab1", "replica_count": "2"}}
    assert rcc.storage_values({"replica_count": 2, "storage_chart_values": None}, values) == ({"global": {
        "main_node_name": "kaapana-main", "replica_count": "2", "fast_data_dir": "/home/kaapana-lab1",
        "slow_data_dir": "/mnt/slow-lab1"}}, "script")
    role = {"global": {"main_node_name": "m", "replica_count": "1", "fast_data_dir": "/f", "slow_data_dir": "/s"}}
    assert rcc.storage_values({"replica_count": 1, "storage_chart_values": role}, values) == (role, "role")


def test_compute_values_per_storage_provider_and_instance_uid():
    values, plan = rcc.compute_values({"kaapana_storage_provider": "longhorn", "kaapana_instance_uid": "lab1"},
                                      storage_chart="kaapana-admin-chart/charts/kaapana-storage-chart")
    g = values["global"]
    assert plan["longhorn"] and plan["replica_count"] == 2
    assert g["storage_class_workflow"] == "kaapana-longhorn-fast-workflow"
    assert g["fast_data_dir"].endswith("-lab1") and g["services_namespace"] == "lab1-services"
    assert plan["chart"]["storage_chart"] == "kaapana-admin-chart/charts/kaapana-storage-chart"
    svalues = rcc.storage_values(plan, values)[0]["global"]
    assert svalues == {"main_node_name": "kaapana-main", "replica_count": "2", "fast_data_dir": g["fast_data_dir"],
                       "slow_data_dir": g["slow_data_dir"]}


def test_cases_make_the_matrix_per_revision():
    assert rcc.cases(None) == [("HEAD", None, None)]
    assert rcc.cases(["0.6.0"], storage="longhorn", instance_uid="x") == [("0.6.0", "longhorn", "x")]
    assert rcc.cases(["0.6.0", "release/0.6.1"], matrix=True) == [
        (rev, p, u) for rev in ("0.6.0", "release/0.6.1") for p in ("hostpath", "longhorn") for u in ("", "lab1")]


def test_summary_table_aligns_columns():
    text = rcc.summary_table([{"rev": "0.6.0", "result": "OK"}, {"rev": "release/0.6.1", "result": "FAIL (1)",
                                                                 "storage": "longhorn"}],
                             [("rev", "rev"), ("storage", "storage"), ("result", "result")])
    assert text.splitlines() == [
        "rev            storage   result",
        "-------------  --------  --------",
        "0.6.0          -         OK",
        "release/0.6.1  longhorn  FAIL (1)"]


def test_ownership_conflicts_name_kind_object_and_owner():
    err = ('Error: INSTALLATION FAILED: Unable to continue with install: StorageClass "kaapana-hostpath-fast-data-dir" '
           'in namespace "" exists and cannot be imported into the current release: invalid ownership metadata; '
           'annotation validation error: key "meta.helm.sh/release-name" must equal "kaapana-storageclass": current '
           'value is "kaapana-admin-chart"; annotation validation error: key "meta.helm.sh/release-namespace" must '
           'equal "kaapana-system": current value is "default"')
    assert rcc.ownership_conflicts(err) == [{"kind": "StorageClass", "name": "kaapana-hostpath-fast-data-dir",
                                             "namespace": "", "owner": "kaapana-admin-chart"}]
    unowned = ('Error: Unable to continue with install: StorageClass "x" in namespace "" exists and cannot be imported '
               'into the current release: invalid ownership metadata; label validation error: missing key '
               '"app.kubernetes.io/managed-by": must be set to "Helm"')
    assert rcc.ownership_conflicts(unowned) == [{"kind": "StorageClass", "name": "x", "namespace": "", "owner": ""}]
    assert rcc.ownership_conflicts("Error: boom") == []


def test_matrix_excludes_a_single_storage_choice(capsys):
    with pytest.raises(SystemExit):
        rcc._parse(["--kaapana-repo", "x", "--matrix", "--storage", "longhorn"])
    args = rcc._parse(["--kaapana-repo", "x", "--rev", "a", "--rev", "b", "--matrix"])
    assert args.rev == ["a", "b"] and args.matrix


FAKE_HELM = '''#!%s
"""A helm stand-in: `template` prints a StorageClass and a Service; an install/upgrade without --post-renderer fails
because the StorageClass belongs to another release; with one it passes."""
import sys
args = sys.argv[1:]
if args[0] == "template":
    print("apiVersion: storage.k8s.io/v1\\nkind: StorageClass\\nmetadata: {name: sc}\\nprovisioner: p\\n---\\n"
          "apiVersion: v1\\nkind: Service\\nmetadata: {name: s}")
    sys.exit(0)
assert "--dry-run=server" in args
if "--post-renderer" not in args:
    sys.stderr.write('Error: UPGRADE FAILED: Unable to continue with update: StorageClass "sc" in namespace "" exists '
                     'and cannot be imported into the current release: invalid ownership metadata; annotation '
                     'validation error: key "meta.helm.sh/release-name" must equal "kaapana-storageclass": current '
                     'value is "kaapana-admin-chart"')
    sys.exit(1)
sys.exit(0)
'''


def test_server_dry_run_leaves_out_objects_another_release_owns(tmp_path, capsys):
    fake = tmp_path / "helm"
    fake.write_text(FAKE_HELM % sys.executable)
    fake.chmod(0o755)
    (tmp_path / "chart").mkdir()
    failures, notes = [], []
    cell = rcc._server(rcc.Helm(str(fake), []), str(tmp_path / "chart"), "kaapana-storageclass", "kaapana-system",
                       str(tmp_path / "v.yaml"), "kubeconfig", str(tmp_path), failures, notes, upgrade=True,
                       label="storage chart")
    assert cell == "ok*" and failures == []
    assert notes == ["storage chart: StorageClass sc exists already, owned by the release kaapana-admin-chart: a real "
                     "install fails until it is removed or the other release is"]
    assert "helm upgrade --install --dry-run=server (storage chart): ok without the objects the cluster cannot take " \
           "(storage.k8s.io/v1 StorageClass)" in capsys.readouterr().out


def test_server_dry_run_reports_immutable_storage_class_parameters_as_a_conflict(tmp_path, capsys):
    fake = tmp_path / "helm"
    fake.write_text("#!/bin/sh\necho 'Error: UPGRADE FAILED: cannot patch \"kaapana-hostpath-fast-data-dir\" with kind "
                    "StorageClass: StorageClass.storage.k8s.io \"kaapana-hostpath-fast-data-dir\" is invalid: "
                    "parameters: Forbidden: updates to parameters are forbidden.' >&2\nexit 1\n")
    fake.chmod(0o755)
    failures, notes = [], []
    cell = rcc._server(rcc.Helm(str(fake), []), str(tmp_path), "kaapana-storageclass", "kaapana-system",
                       str(tmp_path / "v.yaml"), "kubeconfig", str(tmp_path), failures, notes, upgrade=True,
                       label="storage chart")
    assert cell == "conflict" and failures == []
    assert "another INSTANCE_UID's data directories" in notes[0]
    assert "CONFLICT with the existing release" in capsys.readouterr().out


def test_storage_class_changes_name_the_immutable_fields_an_upgrade_would_change():
    deployed = _classes(fast="/home/kaapana", replicas="1")
    assert rcc.storage_class_changes(deployed, _classes(fast="/home/kaapana", replicas="1")) == []
    assert rcc.storage_class_changes(deployed, _classes(fast="/home/kaapana-lab1", node="b", replicas="2")) == [
        "kaapana-hostpath-fast-data-dir: pvDir '/home/kaapana' -> '/home/kaapana-lab1'",
        "kaapana-longhorn-fast-db: allowed hosts ['kaapana-main'] -> ['b']",
        "kaapana-longhorn-fast-workflow: numberOfReplicas '1' -> '2'",
        "kaapana-longhorn-slow-data: allowed hosts ['kaapana-main'] -> ['b']"]
    assert rcc.storage_class_changes({}, _classes()) == []


def test_helm_4_gets_its_post_renderer_as_a_plugin(tmp_path):
    class FakeHelm(object):
        def __init__(self, major):
            self._major = major

        def major(self):
            return self._major
    args, env = rcc.post_renderer_args(FakeHelm(3), str(tmp_path), {("v1", "Service")})
    assert args == ["--post-renderer", str(tmp_path / "drop-unmappable-objects")] and env == {}
    args, env = rcc.post_renderer_args(FakeHelm(4), str(tmp_path), {("v1", "Service")})
    assert args == ["--post-renderer", "kaapana-drop-objects"]
    assert env == {"HELM_PLUGINS": str(tmp_path / "helm-plugins")}
    plugin = yaml.safe_load((tmp_path / "helm-plugins" / "kaapana-drop-objects" / "plugin.yaml").read_text())
    assert plugin["type"] == "postrenderer/v1" and plugin["runtime"] == "subprocess"
    assert plugin["runtimeConfig"]["platformCommand"] == [{"command": str(tmp_path / "drop-unmappable-objects")}]


def test_helm_4_warnings_do_not_hide_an_explained_error():
    err = ('level=WARN msg="This chart or one of its subcharts contains CRDs. Rendering may fail or contain '
           'inaccuracies."\nError: INSTALLATION FAILED: unable to build kubernetes objects from release manifest: '
           '[resource mapping not found for name: "m" namespace: "admin" from "": no matches for kind "Middleware" '
           'in version "traefik.io/v1alpha1" ensure CRDs are installed first]')
    assert rcc.classify_server_error(err, {("traefik.io", "Middleware")}) == (
        ["traefik.io/v1alpha1 Middleware"], [], "")
