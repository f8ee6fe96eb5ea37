# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Unit tests of plugins/filter/platform.py.

The chart values are checked field by field against kaapanactl.sh's own `helm install` line: the line is copied
verbatim from the reference (docs: ../shared/reference/kaapana-deployment.md, section 1.5 step 12), the shell
variables are filled in as the script computes them (written out here independently of the filter), and the
`--set` / `--set-string` arguments are parsed with Helm's strvals rules (--set-string: always a string; --set:
true/false -> bool, integers -> int, {a,b} -> list)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import shlex

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kaapana.platform.plugins.filter import platform as f
from ansible_collections.kaapana.platform.plugins.plugin_utils import platform as platform_utils

# kaapanactl.sh 0.6.0 deploy_chart, verbatim (the comment lines after it are left out).
HELM_INSTALL_LINE = r'''
$HELM_INSTALL_CMD $CHART_PATH \
    --set-string global.base_namespace="base" \
    --set-string global.credentials_registry_username="$CONTAINER_REGISTRY_USERNAME" \
    --set-string global.credentials_registry_password="$CONTAINER_REGISTRY_PASSWORD" \
    --set-string global.credentials_minio_username="$CREDENTIALS_MINIO_USERNAME" \
    --set-string global.credentials_minio_password="$CREDENTIALS_MINIO_PASSWORD" \
    --set-string global.credentials_grafana_username="$GRAFANA_USERNAME" \
    --set-string global.credentials_grafana_password="$GRAFANA_PASSWORD" \
    --set-string global.credentials_keycloak_admin_username="$KEYCLOAK_ADMIN_USERNAME" \
    --set-string global.credentials_keycloak_admin_password="$KEYCLOAK_ADMIN_PASSWORD" \
    --set-string global.dicom_port="$DICOM_PORT" \
    --set-string global.fast_data_dir="$FAST_DATA_DIR" \
    --set-string global.services_namespace=$SERVICES_NAMESPACE \
    --set-string global.extensions_namespace=$EXTENSIONS_NAMESPACE \
    --set-string global.admin_namespace=$ADMIN_NAMESPACE \
    --set global.gpu_support=$GPU_SUPPORT \
    --set-string global.helm_namespace="$ADMIN_NAMESPACE" \
    --set global.oidc_client_secret=$OIDC_CLIENT_SECRET \
    --set global.include_reverse_proxy=$INCLUDE_REVERSE_PROXY \
    --set-string global.home_dir="$HOME" \
    --set-string global.hostname="$DOMAIN" \
    --set-string global.http_port="$HTTP_PORT" \
    --set-string global.https_port="$HTTPS_PORT" \
    --set global.internalCidrs="{$INTERNAL_CIDR}" \
    --set-string squid-proxy.upstreamHttpProxy="$http_proxy" \
    --set-string squid-proxy.upstreamHttpsProxy="$https_proxy" \
    --set global.offline_mode=$OFFLINE_MODE \
    --set global.prefetch_extensions=$PREFETCH_EXTENSIONS \
    --set-string global.pull_policy_images="$PULL_POLICY_IMAGES" \
    --set-string global.pull_policy_jobs="$PULL_POLICY_IMAGES" \
    --set-string global.pull_policy_pods="$PULL_POLICY_IMAGES" \
    --set-string global.registry_url="$CONTAINER_REGISTRY_URL" \
    --set-string global.release_name="$PLATFORM_NAME" \
    --set-string global.deployment_timestamp="$DEPLOYMENT_TIMESTAMP" \
    --set-string global.mount_points_to_monitor="$MOUNT_POINTS_TO_MONITOR" \
    --set-string global.slow_data_dir="$SLOW_DATA_DIR" \
    --set-string global.instance_uid="$INSTANCE_UID" \
    --set-string global.instance_name="$INSTANCE_NAME" \
    --set global.dev_mode=$DEV_MODE \
    --set-string global.kaapana_init_password="$KAAPANA_INIT_PASSWORD" \
    --set-string global.pacs_memory_limit="$PACS_MEMORY_LIMIT" \
    --set-string global.airflow_memory_limit="$AIRFLOW_MEMORY_LIMIT" \
    --set-string global.opensearch_memory_limit="$OPENSEARCH_MEMORY_LIMIT" \
    --set-string global.pacs_memory_request="$PACS_MEMORY_REQUEST" \
    --set-string global.airflow_memory_request="$AIRFLOW_MEMORY_REQUEST" \
    --set-string global.opensearch_memory_request="$OPENSEARCH_MEMORY_REQUEST" \
    --set-string global.smtp_host="$SMTP_HOST" \
    --set-string global.smtp_port="$SMTP_PORT" \
    --set-string global.smtp_username="$SMTP_USERNAME" \
    --set-string global.smtp_password="$SMTP_PASSWORD" \
    --set-string global.email_address_sender="$EMAIL_ADDRESS_SENDER" \
    --set-string global.storage_class_fast="$STORAGE_CLASS_FAST" \
    --set-string global.storage_class_slow="$STORAGE_CLASS_SLOW" \
    --set-string global.storage_class_workflow="$STORAGE_CLASS_WORKFLOW" \
    --set-string global.main_node_name="$MAIN_NODE_NAME" \
    --set-string global.volume_slow_data="$VOLUME_SLOW_DATA" \
    --set-string global.replica_count="$REPLICA_COUNT"\
    --set-string global.storage_node="$STORAGE_NODE" \
    --name-template "$PLATFORM_NAME"
'''


def _typed(text):
    """Helm strvals typedVal for --set (the subset the line uses)."""
    if text.lower() == "true":
        return True
    if text.lower() == "false":
        return False
    if text == "null":
        return None
    if re.match(r"^-?[1-9][0-9]*$|^0$", text):
        return int(text)
    return text


def helm_values_from_line(shell_vars):
    """Expand the line's shell variables and parse its --set/--set-string arguments as Helm does."""
    text = HELM_INSTALL_LINE.replace("\\\n", " ")

    def expand(match):
        return shell_vars[match.group(1)]
    text = re.sub(r"\$([A-Za-z_][A-Za-z0-9_]*)", expand, text)
    argv = shlex.split(text)
    values = {}
    for flag, arg in zip(argv, argv[1:]):
        if flag not in ("--set", "--set-string"):
            continue
        key, value = arg.split("=", 1)
        path = key.split(".")
        node = values
        for part in path[:-1]:
            node = node.setdefault(part, {})
        if flag == "--set-string":
            node[path[-1]] = value
        elif value.startswith("{") and value.endswith("}"):
            node[path[-1]] = [_typed(v) for v in value[1:-1].split(",")] if value != "{}" else []
        else:
            node[path[-1]] = _typed(value)
    return values


def script_vars(**over):
    """The shell variables of deploy_chart, computed the way kaapanactl.sh computes them."""
    v = {
        "HELM_INSTALL_CMD": "helm -n default install --create-namespace", "CHART_PATH": "chart.tgz",
        "CONTAINER_REGISTRY_USERNAME": "robot", "CONTAINER_REGISTRY_PASSWORD": "s3cr3t",
        "CREDENTIALS_MINIO_USERNAME": "kaapanaminio", "CREDENTIALS_MINIO_PASSWORD": "Kaapana2020",
        "GRAFANA_USERNAME": "admin", "GRAFANA_PASSWORD": "admin",
        "KEYCLOAK_ADMIN_USERNAME": "admin", "KEYCLOAK_ADMIN_PASSWORD": "Kaapana2020",
        "DICOM_PORT": "11112", "HTTP_PORT": "80", "HTTPS_PORT": "443",
        "FAST_DATA_DIR": "/home/kaapana", "SLOW_DATA_DIR": "/home/kaapana",
        "SERVICES_NAMESPACE": "services", "EXTENSIONS_NAMESPACE": "extensions", "ADMIN_NAMESPACE": "admin",
        "GPU_SUPPORT": "false", "OIDC_CLIENT_SECRET": "ZjY0YjM4YzQ1MjI0ZTc5ZGRiZjA2ODk3",
        "INCLUDE_REVERSE_PROXY": "false", "HOME": "/home/admin", "DOMAIN": "kaapana.example.org",
        "http_proxy": "", "https_proxy": "", "OFFLINE_MODE": "false", "PREFETCH_EXTENSIONS": "false",
        "CONTAINER_REGISTRY_URL": "registry.example.org/kaapana", "PLATFORM_NAME": "kaapana-admin-chart",
        "DEPLOYMENT_TIMESTAMP": "2026-01-02T03:04:05+00:00", "MOUNT_POINTS_TO_MONITOR": "",
        "INSTANCE_UID": "", "DEV_MODE": "true",
        "SMTP_HOST": "", "SMTP_PORT": "0", "SMTP_USERNAME": "", "SMTP_PASSWORD": "", "EMAIL_ADDRESS_SENDER": "",
        "STORAGE_CLASS_FAST": "kaapana-hostpath-fast-data-dir", "STORAGE_CLASS_SLOW": "kaapana-hostpath-slow-data-dir",
        "STORAGE_CLASS_WORKFLOW": "kaapana-hostpath-fast-data-dir", "MAIN_NODE_NAME": "kaapana-main",
        "VOLUME_SLOW_DATA": "100Gi", "REPLICA_COUNT": "1", "STORAGE_NODE": "storage",
        "TOTAL_MEMORY": 64000, "HOST_IP": "192.0.2.10", "K8S_ENDPOINT_IP": "192.0.2.10",
    }
    v.update(over)
    # INSTANCE_UID rewrite (after flag parsing)
    if v["INSTANCE_UID"]:
        uid = v["INSTANCE_UID"]
        v["SERVICES_NAMESPACE"] = uid + "-" + v["SERVICES_NAMESPACE"]
        v["EXTENSIONS_NAMESPACE"] = uid + "-" + v["EXTENSIONS_NAMESPACE"]
        v["FAST_DATA_DIR"] = v["FAST_DATA_DIR"] + "-" + uid
        v["SLOW_DATA_DIR"] = v["SLOW_DATA_DIR"] + "-" + uid
        v["INCLUDE_REVERSE_PROXY"] = "true"
    v.setdefault("INSTANCE_NAME", v["DOMAIN"])
    v["KAAPANA_INIT_PASSWORD"] = "kaapana" if v["DEV_MODE"] == "true" else "Kaapana2020!"
    v["PULL_POLICY_IMAGES"] = ("IfNotPresent" if v["OFFLINE_MODE"] == "true" or v["DEV_MODE"] != "true"
                               else "Always")
    total = v["TOTAL_MEMORY"]
    alloc = total * 70 // 100
    for name, pct in (("PACS", 30), ("AIRFLOW", 50), ("OPENSEARCH", 20)):
        v[name + "_MEMORY_LIMIT"] = str(alloc * pct // 100)
        v[name + "_MEMORY_REQUEST"] = str(alloc * pct // 100 // 3)
    cidr = "10.152.183.0/24,10.1.0.0/16,%s/32," % v["HOST_IP"]
    if re.match(r"^[0-9.]+$", v["DOMAIN"]):
        cidr += "%s/32," % v["DOMAIN"]
    v["INTERNAL_CIDR"] = cidr + "%s/32" % v["K8S_ENDPOINT_IP"]
    return dict((k, str(val)) for k, val in v.items())


def settings_from(v, **over):
    """The filter's settings for the same deployment (un-prefixed namespaces: the filter applies INSTANCE_UID)."""
    s = {
        "platform_name": v["PLATFORM_NAME"], "registry_url": v["CONTAINER_REGISTRY_URL"],
        "registry_username": "robot", "registry_password": "s3cr3t", "chart_path": "",
        "offline_mode": v["OFFLINE_MODE"] == "true", "dev_mode": v["DEV_MODE"] == "true",
        "gpu_support": v["GPU_SUPPORT"] == "true", "prefetch_extensions": v["PREFETCH_EXTENSIONS"] == "true",
        "instance_uid": v["INSTANCE_UID"], "services_namespace": "services", "admin_namespace": "admin",
        "extensions_namespace": "extensions", "helm_namespace": "default",
        "fast_data_dir": "/home/kaapana", "slow_data_dir": "/home/kaapana", "include_reverse_proxy": False,
        "oidc_client_secret": v["OIDC_CLIENT_SECRET"], "home_dir": v["HOME"], "domain": v["DOMAIN"],
        "http_port": int(v["HTTP_PORT"]), "https_port": int(v["HTTPS_PORT"]), "dicom_port": int(v["DICOM_PORT"]), "host_ip": v["HOST_IP"],
        "kubernetes_endpoint_ip": v["K8S_ENDPOINT_IP"], "http_proxy": v["http_proxy"], "https_proxy": v["https_proxy"],
        "deployment_timestamp": v["DEPLOYMENT_TIMESTAMP"], "mount_points_to_monitor": v["MOUNT_POINTS_TO_MONITOR"],
        "memory_total_mb": int(v["TOTAL_MEMORY"]), "smtp_host": v["SMTP_HOST"], "smtp_port": int(v["SMTP_PORT"]),
        "smtp_username": v["SMTP_USERNAME"], "smtp_password": v["SMTP_PASSWORD"],
        "email_address_sender": v["EMAIL_ADDRESS_SENDER"], "storage_class_fast": v["STORAGE_CLASS_FAST"],
        "storage_class_slow": v["STORAGE_CLASS_SLOW"], "storage_class_workflow": v["STORAGE_CLASS_WORKFLOW"],
        "main_node_name": v["MAIN_NODE_NAME"], "volume_slow_data": v["VOLUME_SLOW_DATA"],
        "replica_count": int(v["REPLICA_COUNT"]), "storage_node": v["STORAGE_NODE"],
    }
    s.update(over)
    return s


SCENARIOS = {
    "defaults-dev": ({}, {}),
    "production": ({"DEV_MODE": "false"}, {}),
    "gpu-smtp-ports": ({"GPU_SUPPORT": "true", "SMTP_HOST": "smtp.example.org", "SMTP_PORT": "587",
                        "SMTP_USERNAME": "mailer", "SMTP_PASSWORD": "m@il", "EMAIL_ADDRESS_SENDER": "k@example.org",
                        "HTTPS_PORT": "8443", "DICOM_PORT": "104", "MOUNT_POINTS_TO_MONITOR": "/,/data"}, {}),
    "instance-uid": ({"INSTANCE_UID": "kp2"}, {}),
    "ip-domain": ({"DOMAIN": "192.0.2.20"}, {}),
    "proxy": ({"http_proxy": "http://proxy:3128", "https_proxy": "http://proxy:3129"}, {}),
    "longhorn": ({"STORAGE_CLASS_FAST": "kaapana-longhorn-fast-db", "STORAGE_CLASS_SLOW": "kaapana-longhorn-slow-data",
                  "STORAGE_CLASS_WORKFLOW": "kaapana-longhorn-fast-workflow", "REPLICA_COUNT": "2",
                  "VOLUME_SLOW_DATA": "1Ti"}, {}),
    "odd-memory": ({"TOTAL_MEMORY": 31999}, {}),
    "prefetch": ({"PREFETCH_EXTENSIONS": "true"}, {}),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_values_equal_the_scripts_set_line_field_by_field(name):
    over, settings_over = SCENARIOS[name]
    shell = script_vars(**over)
    expected = helm_values_from_line(shell)
    actual = f.platform_values(settings_from(shell, **settings_over))
    # --set global.oidc_client_secret: helm would type it; we always pass the string (see the next test)
    assert isinstance(actual["global"]["oidc_client_secret"], str)
    expected["global"]["oidc_client_secret"] = str(expected["global"]["oidc_client_secret"])
    assert sorted(actual) == sorted(expected)
    assert sorted(actual["global"]) == sorted(expected["global"])
    for key in sorted(expected["global"]):
        got, want = actual["global"][key], expected["global"][key]
        assert (type(got), got) == (type(want), want), "global.%s: got %r, want %r" % (key, got, want)
    assert actual["squid-proxy"] == expected["squid-proxy"]


def test_every_key_of_the_line_is_produced():
    keys = set(re.findall(r"--set(?:-string)? (global\.[A-Za-z_]+|squid-proxy\.[A-Za-z]+)=", HELM_INSTALL_LINE))
    assert len(keys) == 57  # 55 global.* and 2 squid-proxy.*
    values = f.platform_values(settings_from(script_vars()))
    produced = set("global." + k for k in values["global"]) | set("squid-proxy." + k for k in values["squid-proxy"])
    assert produced == keys


def test_types_follow_set_and_set_string():
    g = f.platform_values(settings_from(script_vars()))["global"]
    for key in ("gpu_support", "include_reverse_proxy", "offline_mode", "prefetch_extensions", "dev_mode"):
        assert isinstance(g[key], bool), key
    assert g["internalCidrs"] == ["10.152.183.0/24", "10.1.0.0/16", "192.0.2.10/32", "192.0.2.10/32"]
    for key, value in g.items():
        if key not in ("gpu_support", "include_reverse_proxy", "offline_mode", "prefetch_extensions", "dev_mode",
                       "internalCidrs"):
            assert isinstance(value, str), key
    assert (g["http_port"], g["https_port"], g["dicom_port"], g["smtp_port"], g["replica_count"]) == \
        ("80", "443", "11112", "0", "1")


def test_a_numeric_oidc_client_secret_stays_a_string():
    # Helm's --set would make 12345678901234567890123456789012 a (corrupted) number; the filter never does.
    g = f.platform_values(settings_from(script_vars(), oidc_client_secret="12345678901234567890123456789012"))["global"]
    assert g["oidc_client_secret"] == "12345678901234567890123456789012"
    g = f.platform_values(settings_from(script_vars(), oidc_client_secret=1234))["global"]
    assert g["oidc_client_secret"] == "1234"


def test_instance_uid_rewrites_namespaces_and_data_dirs():
    g = f.platform_values(settings_from(script_vars(), instance_uid="kp2"))["global"]
    assert g["services_namespace"] == "kp2-services"
    assert g["extensions_namespace"] == "kp2-extensions"
    assert g["admin_namespace"] == "admin" and g["helm_namespace"] == "admin"
    assert g["fast_data_dir"] == "/home/kaapana-kp2" and g["slow_data_dir"] == "/home/kaapana-kp2"
    assert g["include_reverse_proxy"] is True and g["instance_uid"] == "kp2"


def test_layout_with_and_without_instance_uid():
    plain = f.platform_layout({})
    assert plain["helm_namespace"] == "default" and plain["platform_namespaces"] == ["admin", "services", "extensions"]
    assert plain["include_reverse_proxy"] is False
    uid = f.platform_layout({"instance_uid": "kp2", "fast_data_dir": "/ssd", "slow_data_dir": "/hdd"})
    assert uid["helm_namespace"] == "kp2-default"
    assert uid["platform_namespaces"] == ["admin", "kp2-services", "kp2-extensions"]
    assert (uid["fast_data_dir"], uid["slow_data_dir"]) == ("/ssd-kp2", "/hdd-kp2")


@pytest.mark.parametrize("dev, offline, policy, password", [
    (True, False, "Always", "kaapana"),
    (True, True, "IfNotPresent", "kaapana"),
    (False, False, "IfNotPresent", "Kaapana2020!"),
    ("false", "true", "IfNotPresent", "Kaapana2020!"),
])
def test_pull_policy_and_initial_password(dev, offline, policy, password):
    g = f.platform_values(settings_from(script_vars(), dev_mode=dev, offline_mode=offline))["global"]
    assert g["pull_policy_images"] == g["pull_policy_jobs"] == g["pull_policy_pods"] == policy
    assert g["kaapana_init_password"] == password


def test_chart_path_clears_credentials_and_prefetch():
    g = f.platform_values(settings_from(script_vars(), chart_path="/tmp/kaapana-admin-chart-0.6.0.tgz",
                                        prefetch_extensions=True))["global"]
    assert g["credentials_registry_username"] == "" and g["credentials_registry_password"] == ""
    assert g["prefetch_extensions"] is False


def test_instance_name_defaults_to_the_domain():
    values = f.platform_values(settings_from(script_vars(), domain="kaapana.example.org."))
    assert values["global"]["hostname"] == "kaapana.example.org"
    assert values["global"]["instance_name"] == "kaapana.example.org"
    values = f.platform_values(settings_from(script_vars(), instance_name="site-a"))
    assert values["global"]["instance_name"] == "site-a"


def test_one_proxy_alone_is_dropped_like_the_script():
    values = f.platform_values(settings_from(script_vars(), http_proxy="http://proxy:3128", https_proxy=""))
    assert values["squid-proxy"] == {"upstreamHttpProxy": "", "upstreamHttpsProxy": ""}


def test_replica_count_can_be_left_out_as_in_0_6_1():
    values = f.platform_values(settings_from(script_vars(), set_replica_count=False))
    assert "replica_count" not in values["global"]


@pytest.mark.parametrize("bad, message", [
    ({"http_port": 0}, "http_port must be between 1 and 65535"),
    ({"https_port": "x"}, "https_port must be an integer"),
    ({"dev_mode": "maybe"}, "dev_mode must be true or false"),
    ({"memory_total_mb": -1}, "memory_total_mb"),
    ({"surprise": 1}, "unknown setting(s) surprise"),
])
def test_bad_settings_fail_with_the_setting_named(bad, message):
    with pytest.raises(AnsibleFilterError, match=re.escape(message)):
        f.platform_values(settings_from(script_vars(), **bad))


def test_required_settings():
    with pytest.raises(AnsibleFilterError, match="domain, home_dir, main_node_name, memory_total_mb, "
                                                 "oidc_client_secret, registry_url must be given"):
        f.platform_values({})
    with pytest.raises(AnsibleFilterError, match="mapping"):
        f.platform_values(["x"])


# --- memory --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("total, expected", [
    # the fixture chart's defaults ("for a 64000 MiB host")
    (64000, ("44800", "13440", "4480", "22400", "7466", "8960", "2986")),
    (31999, ("22399", "6719", "2239", "11199", "3733", "4479", "1493")),
    (1, ("0", "0", "0", "0", "0", "0", "0")),
])
def test_memory_split_is_integer_arithmetic(total, expected):
    m = f.platform_memory(total)
    assert (m["allocatable"], m["pacs_memory_limit"], m["pacs_memory_request"], m["airflow_memory_limit"],
            m["airflow_memory_request"], m["opensearch_memory_limit"], m["opensearch_memory_request"]) == expected


def test_memory_percentages():
    m = f.platform_memory("10000", 10, 20, 30, 50)
    assert (m["allocatable"], m["pacs_memory_limit"], m["airflow_memory_limit"], m["opensearch_memory_limit"]) == \
        ("5000", "500", "1000", "1500")
    with pytest.raises(AnsibleFilterError, match="pacs_percent must be between 0 and 100"):
        f.platform_memory(1000, 101)


# --- internal CIDRs ------------------------------------------------------------------------------------------

def test_internal_cidrs():
    assert f.platform_internal_cidrs("10.0.0.5", "kaapana.example.org", "10.0.0.5") == \
        ["10.152.183.0/24", "10.1.0.0/16", "10.0.0.5/32", "10.0.0.5/32"]
    assert f.platform_internal_cidrs("10.0.0.5", "10.0.0.9", "10.0.0.1") == \
        ["10.152.183.0/24", "10.1.0.0/16", "10.0.0.5/32", "10.0.0.9/32", "10.0.0.1/32"]
    assert f.platform_internal_cidrs("", "x.example.org", "") == ["10.152.183.0/24", "10.1.0.0/16"]
    assert f.platform_internal_cidrs("2001:db8::5")[-1] == "2001:db8::5/128"
    with pytest.raises(AnsibleFilterError, match="not an IP address"):
        f.platform_internal_cidrs("host.example.org")


# --- domain and instance UID --------------------------------------------------------------------------------------

@pytest.mark.parametrize("domain, kind", [
    ("kaapana.example.org", "fqdn"), ("kaapana.lab.internal", "fqdn"), ("kaapana.example.org.", "fqdn"),
    ("a-b.c-d.example", "fqdn"), ("kaapana", "single-label"),
])
def test_domain_check_accepts(domain, kind):
    result = f.platform_domain_check(domain)
    assert result["valid"] and result["kind"] == kind and result["error"] is None
    assert result["domain"] == domain.rstrip(".")
    if kind == "fqdn":
        assert result["warnings"] == []
    else:
        assert len(result["warnings"]) == 1 and "kaapana_domain" in result["warnings"][0]
        assert "kaapana/kaapana#23" in result["warnings"][0]


def test_single_label_warning_explains_issue_23():
    warning = f.platform_domain_check("kaapana")["warnings"][0]
    assert "DNS_PROBE_FINISHED_NXDOMAIN" in warning and "has no dot" in warning


@pytest.mark.parametrize("domain, fragment", [
    ("", "kaapana_domain is empty"),
    ("https://kaapana.example.org", "not a valid domain name"),
    ("kaapana.example.org:443", "not a valid domain name"),
    ("kaapana_lab.example.org", "'kaapana_lab'"),
    ("-kaapana.example.org", "'-kaapana'"),
    ("*.example.org", "not a valid domain name"),
    ("kaapana..example.org", "not a valid domain name"),
    ("Kaapana.Example.org", "must be lower case"),
    ("1.2.3.999", "not a valid domain name"),
    ("a" * 64 + ".example.org", "not a valid domain name"),
    ("a." * 130 + "org", "longer than 253"),
])
def test_domain_check_rejects(domain, fragment):
    result = f.platform_domain_check(domain)
    assert not result["valid"] and fragment in result["error"] and "kaapana_domain" in result["error"]


@pytest.mark.parametrize("domain, what", [
    ("10.0.0.5", "an IP address"), ("2001:db8::1", "an IP address"), ("0.0.0.0", "the unspecified address"),
    ("::", "the unspecified address"), ("169.254.1.1", "a link-local address"), ("fe80::1", "a link-local address"),
    ("fe80::1%eth0", "a link-local address"), ("127.0.0.1", "a loopback address"), ("::1", "a loopback address"),
])
def test_domain_check_rejects_ip_addresses(domain, what):
    result = f.platform_domain_check(domain)
    assert not result["valid"] and result["kind"] == "ip"
    assert result["error"].startswith("kaapana_domain '%s' is %s" % (domain, what))
    assert "such as kaapana.example.org" in result["error"]


@pytest.mark.parametrize("domain", ["localhost", "LOCALHOST", "localhost.", "kaapana.localhost", "localhost.localdomain"])
def test_domain_check_rejects_localhost(domain):
    result = f.platform_domain_check(domain)
    assert not result["valid"] and "(localhost)" in result["error"] and "kaapana.example.org" in result["error"]


def test_instance_uid_with_a_trailing_newline_is_rejected():
    assert "kaapana_instance_uid" in f.platform_instance_uid_check("site-a\n")


def test_domain_check_names_another_variable():
    assert "my_domain" in f.platform_domain_check("", name="my_domain")["error"]


@pytest.mark.parametrize("uid", ["", "kp2", "a", "site-a-01", "x" * 32])
def test_instance_uid_accepts(uid):
    assert f.platform_instance_uid_check(uid) is None


@pytest.mark.parametrize("uid", ["KP2", "-kp", "kp-", "kp_2", "kp.2", "x" * 33, "a b"])
def test_instance_uid_rejects(uid):
    message = f.platform_instance_uid_check(uid)
    assert message and "kaapana_instance_uid" in message and "DNS label" in message


# --- masking -----------------------------------------------------------------------------------------------------

def test_mask_secrets_masks_every_credential_and_keeps_the_rest():
    values = f.platform_values(settings_from(script_vars(**SCENARIOS["gpu-smtp-ports"][0])))
    masked = f.platform_mask_secrets(values)
    g, mg = values["global"], masked["global"]
    for key in platform_utils.SECRET_KEYS:
        assert g[key] != "" and mg[key] == "********", key
    for key in g:
        if key not in platform_utils.SECRET_KEYS:
            assert mg[key] == g[key], key
    assert values["global"]["credentials_registry_password"] == "s3cr3t"  # the input is not changed
    dumped = repr(masked)
    for secret in ("s3cr3t", "Kaapana2020", "m@il", "ZjY0YjM4YzQ1MjI0ZTc5ZGRiZjA2ODk3", "'kaapana'"):
        assert secret not in dumped, secret


def test_mask_secrets_keeps_empty_ones_and_walks_nested_data():
    masked = f.platform_mask_secrets({"global": {"smtp_password": ""}, "x": [{"api_token": "t"}], "y": {"name": "n"}},
                                     mask="***")
    assert masked == {"global": {"smtp_password": ""}, "x": [{"api_token": "***"}], "y": {"name": "n"}}


# --- CoreDNS -----------------------------------------------------------------------------------------------------

COREFILE = """.:53 {
    errors
    health {
      lameduck 5s
    }
    ready
    log . {
      class error
    }
    kubernetes cluster.local in-addr.arpa ip6.arpa {
      pods insecure
      fallthrough in-addr.arpa ip6.arpa
    }
    prometheus :9153
    forward . 10.89.0.1
    cache 30
    loop
    reload
    loadbalance
}
"""
REWRITE = "    rewrite name exact kaapana.example.org. oauth2-proxy-service.admin.svc.cluster.local."


def test_coredns_rewrite_goes_before_the_kubernetes_line():
    out = f.platform_coredns_rewrite(COREFILE, "kaapana.example.org")
    lines = out.split("\n")
    index = lines.index(REWRITE)
    assert lines[index + 1].strip().startswith("kubernetes cluster.local")
    assert out.replace(REWRITE + "\n", "") == COREFILE


def test_coredns_rewrite_is_idempotent_and_replaces_an_old_domain():
    once = f.platform_coredns_rewrite(COREFILE, "kaapana.example.org")
    assert f.platform_coredns_rewrite(once, "kaapana.example.org") == once
    other = f.platform_coredns_rewrite(once, "new.example.org.", "admin")
    assert "kaapana.example.org." not in other
    assert other.count("oauth2-proxy-service.admin.svc.cluster.local.") == 1
    assert "rewrite name exact new.example.org. oauth2-proxy-service.admin" in other


def test_coredns_rewrite_keeps_rewrites_of_other_services_and_uses_the_admin_namespace():
    corefile = COREFILE.replace("    ready\n", "    ready\n    rewrite name exact a.example. b.default.svc.cluster.local.\n")
    out = f.platform_coredns_rewrite(corefile, "kaapana.example.org", "kp-admin")
    assert "rewrite name exact a.example. b.default.svc.cluster.local." in out
    assert "rewrite name exact kaapana.example.org. oauth2-proxy-service.kp-admin.svc.cluster.local." in out


def test_coredns_rewrite_skips_ip_addresses():
    assert f.platform_coredns_rewrite(COREFILE, "10.0.0.5") == COREFILE
    assert f.platform_coredns_rewrite(COREFILE, "") == COREFILE


def test_coredns_rewrite_needs_a_kubernetes_line():
    with pytest.raises(AnsibleFilterError, match="no 'kubernetes' line"):
        f.platform_coredns_rewrite(".:53 {\n    forward . 8.8.8.8\n}\n", "kaapana.example.org")


# --- chart reference and images -------------------------------------------------------------------------------

@pytest.mark.parametrize("ref, expected", [
    ("registry.example.org/kaapana/kaapana-admin-chart:0.6.0",
     ("registry.example.org/kaapana", "kaapana-admin-chart", "0.6.0")),
    ("oci://10.89.0.1:5000/charts/kaapana-admin-chart:0.6.0-lab",
     ("10.89.0.1:5000/charts", "kaapana-admin-chart", "0.6.0-lab")),
    ("localhost:5000/kaapana-admin-chart:1.0", ("localhost:5000", "kaapana-admin-chart", "1.0")),
])
def test_chart_reference(ref, expected):
    out = f.platform_chart_reference(ref)
    assert (out["registry_url"], out["name"], out["version"]) == expected
    assert out["chart_ref"] == "oci://%s/%s" % expected[:2]


@pytest.mark.parametrize("ref", ["", "kaapana-admin-chart", "kaapana-admin-chart:0.6.0", "registry/chart:",
                                 "oci://registry:5000/chart"])
def test_bad_chart_reference(ref):
    with pytest.raises(AnsibleFilterError, match=r"kaapana_chart_ref .*use \[oci://\]<registry>/<path>/<chart>:<version>"):
        f.platform_chart_reference(ref)


@pytest.mark.parametrize("ref, scheme", [
    ("https://registry.example.org/kaapana/kaapana-admin-chart:0.6.0", "https"),
    ("http://10.89.0.1:5000/charts/kaapana-admin-chart:0.6.0-lab", "http"),
    ("docker://registry.example.org/kaapana/kaapana-admin-chart:0.6.0", "docker"),
])
def test_chart_reference_rejects_other_schemes_than_oci(ref, scheme):
    with pytest.raises(AnsibleFilterError, match=r"kaapana_chart_ref .*the scheme %s:// is not supported; use "
                                                 r"\[oci://\]<registry>/<path>/<chart>:<version>" % scheme):
        f.platform_chart_reference(ref)


def test_image_count():
    listing = ("REF TYPE DIGEST SIZE PLATFORMS LABELS\n"
               "registry.example.org/kaapana/airflow:0.6.0 application/x sha256:1 1 MiB linux/amd64 -\n"
               "registry.example.org/kaapana/minio:0.6.0 application/x sha256:2 1 MiB linux/amd64 -\n"
               "docker.io/library/busybox:1.28.4 application/x sha256:3 1 MiB linux/amd64 -\n"
               "registry.example.org/kaapana/old:0.5.3 application/x sha256:4 1 MiB linux/amd64 -\n")
    assert f.platform_image_count(listing, "0.6.0") == 2
    assert f.platform_image_count(listing.splitlines(), "0.5.3") == 1
    assert f.platform_image_count(listing, "") == 0


def test_filter_module_maps_every_filter():
    names = f.FilterModule().filters()
    assert sorted(names) == sorted(["platform_values", "platform_layout", "platform_memory", "platform_internal_cidrs",
                                    "platform_domain_check", "platform_instance_uid_check", "platform_mask_secrets",
                                    "platform_coredns_rewrite", "platform_chart_reference", "platform_image_count",
                                    "platform_chart_contents", "platform_preinstall_status",
                                    "platform_upgrade_plan", "platform_migration_values"])


def test_the_migration_values_filter_turns_errors_into_filter_errors():
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError, match="global.registry_url"):
        f.platform_migration_values({"global": {}}, "hostpath", "0.5.3", "0.6.1")


def test_the_chart_contents_and_preinstall_filters_turn_errors_into_filter_errors():
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError, match="not a Helm chart"):
        f.platform_chart_contents("")
    assert f.platform_preinstall_status([{"name": "a", "status": "deployed"}], ["a"])["done"]
