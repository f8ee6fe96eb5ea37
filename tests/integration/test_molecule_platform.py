# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""The Molecule scenario ``platform`` against the lab: two nodes join a cluster, the platform role installs the
fixture kaapana-admin-chart from the lab registry (plain HTTP, htpasswd) (no second converge: test_site's second
site.yml run checks that a re-run changes nothing), verify checks the recorded values key by key, the pods, the CoreDNS rewrite, the
values preview, the report, the purge guard, undeploy (no platform pod left, data unchanged) and redeploy.

Bad input is rejected before anything runs: the role goes through ansible-playbook against localhost (no lab
needed) and must fail naming the variable, before its first cluster read."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


import pytest

from tests.integration.nodes import assert_rejected, run_role_locally
from tests.integration.platform_scenario import run_platform_scenario


@pytest.mark.lab
@pytest.mark.slow
@pytest.mark.reliability('data safety', 'purge only with both purge variables; a confirmed purge deletes PVCs and data (Molecule platform)')
def test_molecule_platform_scenario(lab):
    run = run_platform_scenario(lab)
    assert run.proc.returncode == 0, "molecule test -s platform failed:\n" + run.output


# ---------------------------------------------------------------------------------------
# bad input, against localhost
# ---------------------------------------------------------------------------------------

GOOD = {"kaapana_domain": "kaapana.example.org", "kaapana_registry_url": "registry.example.org/kaapana",
        "kaapana_platform_version": "0.6.0", "kaapana_registry_username": "robot",
        "kaapana_registry_password": "s3cr3t-value", "kaapana_memory_total_mb": 64000,
        "kaapana_main_node_name": "kaapana-main"}
# Tasks that must not have run when the input is bad: the first cluster read and every change.
NOT_REACHED = ["Read the kubernetes endpoint", "Install the platform chart", "Keep the generated secrets",
               "Uninstall the releases", "Delete the platform's data"]


def run_role(tmp_path, role_vars, tasks_from=None, main_hosts=("localhost",), **kwargs):
    return run_role_locally(tmp_path, "platform", role_vars, tasks_from, main_hosts, **kwargs)


def _merged(**over):
    data = dict(GOOD)
    data.update(over)
    return data


@pytest.mark.parametrize("role_vars, expected", [
    (_merged(kaapana_domain="https://kaapana.example.org"), ["kaapana_domain", "not a valid domain name"]),
    (_merged(kaapana_domain="Kaapana.Example.org"), ["kaapana_domain", "lower case"]),
    (_merged(kaapana_https_port=70000), ["kaapana_https_port", "1 to 65535"]),
    (_merged(kaapana_dicom_port=0), ["kaapana_dicom_port", "1 to 65535"]),
    (_merged(kaapana_offline_mode=True), ["kaapana_offline_mode", "kaapana_chart_path"]),
    (_merged(kaapana_registry_password=""), ["kaapana_registry_username and kaapana_registry_password"]),
    (_merged(kaapana_registry_url=""), ["kaapana_registry_url is empty"]),
    (_merged(kaapana_platform_version=""), ["kaapana_platform_version is empty"]),
    (_merged(kaapana_instance_uid="Site_A"), ["kaapana_instance_uid", "DNS label"]),
    (_merged(kaapana_storage_provider="nfs"), ["kaapana_storage_provider", "longhorn"]),
    (_merged(kaapana_volume_slow_data="100GB"), ["kaapana_volume_slow_data", "100G"]),
    (_merged(kaapana_gpu_support="maybe"), ["kaapana_gpu_support", "auto, true, false"]),
    (_merged(kaapana_pacs_memory_percent=60), ["kaapana_pacs_memory_percent", "at most 100"]),
    (_merged(kaapana_chart_path="/nonexistent/kaapana-admin-chart-0.6.0.tgz"), ["kaapana_chart_path", "not a file"]),
    (_merged(kaapana_chart_ref="registry.example.org/kaapana-admin-chart"), ["kaapana_chart_ref"]),
], ids=["domain-url", "domain-case", "https-port", "dicom-port", "offline-without-chart", "credentials",
        "registry", "version", "instance-uid", "storage-provider", "volume-size", "gpu", "memory", "chart-path",
        "chart-ref"])
def test_bad_input_fails_before_any_change(tmp_path, role_vars, expected):
    proc = run_role(tmp_path, role_vars)
    output = assert_rejected(proc, expected, NOT_REACHED)
    assert "s3cr3t-value" not in output


def test_two_main_hosts_fail_before_any_change(tmp_path):
    proc = run_role(tmp_path, dict(GOOD), main_hosts=("localhost", "other-main"))
    output = assert_rejected(proc, (), NOT_REACHED, unchanged=False)
    assert "kaapana_main' must contain exactly one host" in output and "it contains 2" in output, output


@pytest.mark.reliability('data safety', 'purge with a wrong kaapana_purge_confirm fails before anything is uninstalled')
def test_purge_confirmation_mismatch_fails_before_anything_is_uninstalled(tmp_path):
    proc = run_role(tmp_path, _merged(kaapana_purge_data=True, kaapana_purge_confirm="kaapana.example.com"),
                    tasks_from="undeploy")
    output = assert_rejected(proc, (), NOT_REACHED + ["List the releases", "Force-delete"], unchanged=False)
    assert "kaapana_purge_data is true but kaapana_purge_confirm is 'kaapana.example.com'" in output, output
    assert "'kaapana.example.org'" in output and "Nothing was deleted" in output, output


UNDEPLOY_NOT_REACHED = NOT_REACHED + ["List the releases", "Force-delete", "Uninstall the releases"]


@pytest.mark.reliability('data safety', 'an empty instance name never confirms a purge (domain ".", " . ")')
@pytest.mark.parametrize("domain", [".", " . "])
def test_an_empty_instance_name_never_confirms_a_purge(tmp_path, domain):
    proc = run_role(tmp_path, _merged(kaapana_domain=domain), tasks_from="undeploy",
                    extra_vars={"kaapana_purge_data": True, "kaapana_purge_confirm": ""})
    output = assert_rejected(proc, (), UNDEPLOY_NOT_REACHED, unchanged=False)
    assert "the instance name is empty" in output and "Nothing was deleted" in output, output


@pytest.mark.reliability('data safety', 'purge variables left in the inventory are refused before anything is uninstalled')
def test_purge_variables_in_the_inventory_are_refused(tmp_path):
    proc = run_role(tmp_path, dict(GOOD), tasks_from="undeploy",
                    inventory_vars={"kaapana_purge_data": True, "kaapana_purge_confirm": GOOD["kaapana_domain"]})
    output = assert_rejected(proc, (), UNDEPLOY_NOT_REACHED, unchanged=False)
    assert "kaapana_purge_data and kaapana_purge_confirm are set in the inventory" in output, output


@pytest.mark.reliability('data safety', 'a purge refuses data directories that are not the platform\'s own, before anything is uninstalled')
@pytest.mark.parametrize("data_dir, words", [("/home/kaapana/..", "as /home"), ("/usr/local", "inside /usr"),
                                             ("/var/lib", "system directory")])
def test_purge_refuses_system_data_directories(tmp_path, data_dir, words):
    proc = run_role(tmp_path, _merged(kaapana_slow_data_dir=data_dir), tasks_from="undeploy",
                    extra_vars={"kaapana_purge_data": True, "kaapana_purge_confirm": GOOD["kaapana_domain"]})
    output = assert_rejected(proc, (), UNDEPLOY_NOT_REACHED, unchanged=False)
    assert "kaapana_slow_data_dir: '%s'" % data_dir in output and words in output, output


def test_single_label_domain_only_warns(tmp_path):
    proc = run_role(tmp_path, _merged(kaapana_domain="kaapana"), tasks_from="validate")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "WARNING: kaapana_domain 'kaapana' has no dot" in output and "kaapana/kaapana#23" in output


def test_values_preview_without_cluster_masks_the_secrets(tmp_path):
    values_file = tmp_path / "values.yml"
    proc = run_role(tmp_path, _merged(kaapana_values_file=str(values_file), kaapana_memory_total_mb=32000,
                                      kaapana_helm_binary="/nonexistent/helm"),
                    tasks_from="values")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert oct(values_file.stat().st_mode & 0o777) == "0o600"
    text = values_file.read_text()
    assert "s3cr3t-value" not in text and "s3cr3t-value" not in output
    assert "credentials_registry_password: '********'" in text
    assert "pacs_memory_limit: '6720'" in text and "airflow_memory_request: '3733'" in text
    assert "Memory (MiB): PACS 6720/2240, Airflow 11200/3733, OpenSearch 4480/1493" in output
