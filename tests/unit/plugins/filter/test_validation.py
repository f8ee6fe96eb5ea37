# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Unit tests for the input checks (plugins/plugin_utils/input_checks.py, filters in plugins/filter/validation.py):
every rejected value gives a message naming the variable, the value (masked for secrets) and the accepted form."""

import pytest

from ansible_collections.kaapana.platform.plugins.filter import validation as F
from ansible_collections.kaapana.platform.plugins.plugin_utils import input_checks as C


def test_filter_module_maps_names():
    filters = F.FilterModule().filters()
    assert sorted(filters) == sorted(["namespace_errors", "port_errors", "regex_errors", "host_address_errors",
                                      "no_proxy_catch_all", "storage_class_errors", "password_errors"])


def _ns(**kinds):
    return [{"var": "kaapana_%s_namespace" % kind, "value": value, "kind": kind} for kind, value in kinds.items()]


# -- namespaces -------------------------------------------------------------------------------------------
def test_namespaces_default_layout_accepted():
    assert F.namespace_errors(_ns(services="services", admin="admin", extensions="extensions", helm="default",
                                  longhorn="longhorn-system", gpu="gpu-operator-resources")) == []


@pytest.mark.parametrize("kind", ["services", "admin", "extensions", "helm", "longhorn", "gpu"])
@pytest.mark.parametrize("value", ["kube-system", "kube-public", "kube-node-lease"])
def test_system_namespaces_rejected_for_all(kind, value):
    errors = F.namespace_errors(_ns(**{kind: value}))
    assert len(errors) == 1 and "kaapana_%s_namespace" % kind in errors[0] and value in errors[0]
    assert "system namespace" in errors[0]


@pytest.mark.parametrize("kind", ["services", "admin", "extensions"])
def test_default_rejected_for_kaapana_namespaces_but_not_helm(kind):
    errors = F.namespace_errors(_ns(**{kind: "default"}))
    assert len(errors) == 1 and "shared default namespace" in errors[0] and "such as %s" % kind in errors[0]
    assert F.namespace_errors(_ns(helm="default")) == []


@pytest.mark.parametrize("value", ["longhorn-system", "gpu-operator-resources"])
@pytest.mark.parametrize("kind", ["services", "admin", "extensions", "helm"])
def test_other_charts_namespaces_rejected_for_kaapana(kind, value):
    errors = F.namespace_errors(_ns(**{kind: value}))
    assert len(errors) == 1 and "kaapana_%s_namespace: '%s' belongs to" % (kind, value) in errors[0]


def test_namespace_collisions():
    errors = F.namespace_errors(_ns(services="kaapana", admin="kaapana", helm="default"))
    assert errors == ["kaapana_services_namespace and kaapana_admin_namespace both name the namespace 'kaapana'; "
                      "every Kaapana, Longhorn and GPU operator namespace must be a different one."]
    assert F.namespace_errors(_ns(services="services", longhorn="services"))[0].startswith(
        "kaapana_services_namespace and kaapana_longhorn_namespace")


@pytest.mark.parametrize("value", ["admin\n", "Admin", "a_b", "", "a" * 64, None, "-a"])
def test_namespace_syntax(value):
    errors = F.namespace_errors(_ns(admin=value))
    assert len(errors) == 1 and "kaapana_admin_namespace gives the namespace %r" % value in errors[0]
    assert "DNS label" in errors[0]


# -- ports ---------------------------------------------------------------------------------------------------
def _ports(http=80, https=443, dicom=11112):
    return [{"var": "kaapana_http_port", "value": http}, {"var": "kaapana_https_port", "value": https},
            {"var": "kaapana_dicom_port", "value": dicom}]


def test_ports_accepted():
    assert F.port_errors(_ports()) == [] and F.port_errors(_ports("8080", "8443", "104")) == []


def test_port_collision_after_normalisation():
    errors = F.port_errors(_ports(https="0443", dicom=443))
    assert errors == ["kaapana_https_port and kaapana_dicom_port are both port 443 ('0443' and 443); use different "
                      "port numbers, such as 80, 443 and 11112."]


@pytest.mark.parametrize("value", [0, 65536, "443\n", " 443", "eighty", True, None, -1, "4e2", 443.0])
def test_bad_ports(value):
    errors = F.port_errors(_ports(https=value))
    assert errors == ["kaapana_https_port must be a port number from 1 to 65535; got %r" % (value,)]


# -- regular expressions ----------------------------------------------------------------------------------------
def test_regex_errors_use_the_whole_value():
    check = {"var": "kaapana_platform_wait_timeout", "pattern": "[1-9][0-9]*", "form": "a positive number of seconds"}
    assert F.regex_errors([dict(check, value=1800)]) == []
    assert F.regex_errors([dict(check, value="1800")]) == []
    for value in ("1800\n", "forever", 0, "", None, True, "18 00"):
        assert F.regex_errors([dict(check, value=value)]) == [
            "kaapana_platform_wait_timeout must be a positive number of seconds; got %r" % (value,)]


def test_regex_errors_mask_secrets():
    errors = F.regex_errors([{"var": "v", "value": "hunter2\n", "pattern": "[a-z0-9]+", "form": "x", "secret": True}])
    assert errors == ["v must be x; got ********"] and "hunter2" not in errors[0]


def test_fullmatch_refuses_a_trailing_newline_where_re_match_does_not():
    import re
    assert re.match(r"^[a-z]+$", "abc\n") and not C.fullmatch(r"[a-z]+", "abc\n")


# -- host addresses ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["10.0.0.5", "192.168.1.10", "2001:db8::10"])
def test_host_addresses_accepted(value):
    assert F.host_address_errors(value, "kaapana_host_ip") == []


@pytest.mark.parametrize("value, fragment", [
    ("10.0.0.300", "is not an IP address"), ("host.example.org", "is not an IP address"),
    ("fe80::1%eth0", "no zone"), ("10.0.0.5/24", "no zone"), ("10.0.0.5\n", "no zone"),
    ("0.0.0.0", "the unspecified address"), ("::", "the unspecified address"), ("127.0.0.1", "a loopback address"),
    ("169.254.0.9", "a link-local address"), ("fe80::1", "a link-local address"), ("224.0.0.1", "a multicast address"),
])
def test_bad_host_addresses(value, fragment):
    errors = F.host_address_errors(value, "kaapana_host_ip")
    assert len(errors) == 1 and errors[0].startswith("kaapana_host_ip: %r" % value) and fragment in errors[0]
    assert "such as 192.168.1.10" in errors[0]


# -- NO_PROXY -----------------------------------------------------------------------------------------------------
def test_no_proxy_catch_all():
    assert F.no_proxy_catch_all(["registry.example.org", "*", "0.0.0.0/0", "::/0", "10.0.0.0/8", " 0/0 ", "0::0/0",
                                 "*.svc", "bad/x"]) == ["*", "0.0.0.0/0", "::/0", "0::0/0"]
    assert F.no_proxy_catch_all("a,*,b") == ["*"]
    assert F.no_proxy_catch_all(None) == [] and F.no_proxy_catch_all([]) == []


# -- quantities -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, size", [("1Mi", 2 ** 20), ("1M", 10 ** 6), ("100Gi", 100 * 2 ** 30), ("1e3", 1000),
                                        ("+2k", 2000), (".5Ki", 512), ("1000", 1000),
                                        ("2E", 2 * 10 ** 18), ("1Ei", 2 ** 60), ("1E3", 1000)])
def test_quantity_bytes(text, size):
    assert C.quantity_bytes(text) == size


# -- storage classes ----------------------------------------------------------------------------------------------------
def test_storage_classes_of_the_run_and_the_cluster():
    overrides = {"kaapana_storage_class_slow": "kaapana-hostpath-slow-data-dir", "kaapana_storage_class_fast": ""}
    assert F.storage_class_errors(overrides, None, "hostpath") == []
    assert F.storage_class_errors({"kaapana_storage_class_slow": "longhorn"}, None, "longhorn") == []
    assert F.storage_class_errors({"kaapana_storage_class_slow": "nfs-slow"}, ["nfs-slow"], "hostpath") == []


def test_storage_class_missing_without_a_cluster():
    errors = F.storage_class_errors({"kaapana_storage_class_slow": "nfs-slow"}, None, "microk8s.io/hostpath")
    assert len(errors) == 1 and errors[0].startswith("kaapana_storage_class_slow: the StorageClass 'nfs-slow' does not "
                                                     "exist (there is no cluster yet")
    assert "microk8s-hostpath" in errors[0] and "longhorn-static" not in errors[0]


def test_storage_class_missing_in_the_cluster():
    errors = F.storage_class_errors({"kaapana_storage_class_workflow": "fast-ssd"}, ["microk8s-hostpath"], "longhorn")
    assert errors == ["kaapana_storage_class_workflow: the StorageClass 'fast-ssd' does not exist (the cluster has "
                      "microk8s-hostpath); create it first or name one of those."]


# -- passwords ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("password", ["Kaapana2020!", "Kaapana2020", "kaapana", "admin", "ADMIN", "password", " admin "])
def test_well_known_passwords_rejected(password):
    errors = F.password_errors(password, "kaapana_keycloak_admin_password", "admin")
    assert len(errors) == 1 and errors[0].startswith("kaapana_keycloak_admin_password (********) is a well-known default")
    assert F.password_errors(password, "kaapana_grafana_password", "admin", False) != []


@pytest.mark.parametrize("password, lacks", [
    ("Ab1!", "at least 8 characters"), ("abcdefg1!", "an upper-case letter"), ("ABCDEFG1!", "a lower-case letter"),
    ("Abcdefgh!", "a digit"), ("Abcdefgh1", "a special character"), ("Site-Adm1n", "a value other than the user name"),
])
def test_keycloak_policy(password, lacks):
    errors = F.password_errors(password, "kaapana_keycloak_admin_password", "site-adm1n")
    assert len(errors) == 1 and lacks in errors[0] and "kaapana_keycloak_admin_password (********)" in errors[0]
    assert password not in errors[0]


def test_good_passwords_accepted():
    assert F.password_errors("Badin-Keycloak-1!", "kaapana_keycloak_admin_password", "admin") == []
    assert F.password_errors("longminiopassword", "kaapana_credentials_minio_password", "kaapanaminio", False) == []
