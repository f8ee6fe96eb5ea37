# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""The values the fixture kaapana-admin-chart received from the platform role in the lab (Molecule scenario
``platform``, shared with test_molecule_platform.py), checked field by field against the mapping computed here
independently: kaapanactl.sh's `helm install --set` line for the scenario's settings, with the credentials as the
fixture records them (sha256) and the main node's memory, address and home as the node reported them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

import pytest

from tests.integration.platform_scenario import run_platform_scenario

pytestmark = [pytest.mark.lab, pytest.mark.slow]

BOOLEANS = ("gpu_support", "include_reverse_proxy", "offline_mode", "prefetch_extensions", "dev_mode")


def sha(text):
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest() if text else ""


def expected_global(evidence, registry_password):
    alloc = evidence["memtotal_mb"] * 70 // 100
    mem = {}
    for name, pct in (("pacs", 30), ("airflow", 50), ("opensearch", 20)):
        mem[name + "_memory_limit"] = str(alloc * pct // 100)
        mem[name + "_memory_request"] = str(alloc * pct // 100 // 3)
    expected = {
        "base_namespace": "base",
        "credentials_registry_username": "kaapana-lab",
        "credentials_registry_password": sha(registry_password),
        "credentials_minio_username": "kaapanaminio",
        "credentials_minio_password": sha("Kaapana2020"),
        "credentials_grafana_username": "admin",
        "credentials_grafana_password": sha("admin"),
        "credentials_keycloak_admin_username": "admin",
        "credentials_keycloak_admin_password": sha("Kaapana2020"),
        "dicom_port": "11112",
        "fast_data_dir": "/home/kaapana",
        "services_namespace": "services",
        "extensions_namespace": "extensions",
        "admin_namespace": "admin",
        "gpu_support": False,
        "helm_namespace": "admin",
        "oidc_client_secret": "sha256:" + evidence["oidc_sha256"],
        "include_reverse_proxy": False,
        "home_dir": evidence["home"],
        "hostname": "kaapana.lab.internal",
        "http_port": "80",
        "https_port": "443",
        "internalCidrs": ["10.152.183.0/24", "10.1.0.0/16", evidence["host_ip"] + "/32",
                          evidence["endpoint_ip"] + "/32"],
        "offline_mode": False,
        "prefetch_extensions": False,
        "pull_policy_images": "Always",
        "pull_policy_jobs": "Always",
        "pull_policy_pods": "Always",
        "registry_url": "10.89.0.1:5000/charts",
        "release_name": "kaapana-admin-chart",
        "deployment_timestamp": evidence["deployment_timestamp"],
        "mount_points_to_monitor": "",
        "slow_data_dir": "/home/kaapana",
        "instance_uid": "",
        "instance_name": "kaapana.lab.internal",
        "dev_mode": True,
        "kaapana_init_password": sha("kaapana"),
        "smtp_host": "",
        "smtp_port": "0",
        "smtp_username": "",
        "smtp_password": "",
        "email_address_sender": "",
        "storage_class_fast": "kaapana-hostpath-fast-data-dir",
        "storage_class_slow": "kaapana-hostpath-slow-data-dir",
        "storage_class_workflow": "kaapana-hostpath-fast-data-dir",
        "main_node_name": "plat-main",
        "volume_slow_data": "100Gi",
        "replica_count": "1",
        "storage_node": "storage",
    }
    expected.update(mem)
    return expected


@pytest.fixture(scope="module")
def scenario(lab):
    run = run_platform_scenario(lab)
    try:
        with open(run.path("deploy.json")) as handle:
            deploy = json.load(handle)
        with open(run.path("redeploy.json")) as handle:
            redeploy = json.load(handle)
    except (IOError, OSError):
        pytest.fail("the platform scenario wrote no evidence (rc %s):\n%s" % (run.proc.returncode, run.output))
    return {"deploy": deploy, "redeploy": redeploy, "password": lab.registry_password()}


def test_the_chart_received_every_key_of_the_set_line(scenario):
    deploy = scenario["deploy"]
    received = deploy["values"]["global"]
    expected = expected_global(deploy, scenario["password"])
    assert len(expected) == 55
    for key in sorted(expected):
        assert key in received, "global.%s missing" % key
        got, want = received[key], expected[key]
        assert (type(got), got) == (type(want), want), "global.%s: received %r, expected %r" % (key, got, want)
    assert deploy["values"]["squid-proxy"] == {"upstreamHttpProxy": "", "upstreamHttpsProxy": ""}


def test_types_are_those_of_set_and_set_string(scenario):
    received = scenario["deploy"]["values"]["global"]
    for key in expected_global(scenario["deploy"], scenario["password"]):
        if key in BOOLEANS:
            assert isinstance(received[key], bool), key
        elif key == "internalCidrs":
            assert isinstance(received[key], list), key
        else:
            assert isinstance(received[key], str), key


def test_memory_follows_the_main_nodes_memory(scenario):
    deploy = scenario["deploy"]
    received = deploy["values"]["global"]
    alloc = deploy["memtotal_mb"] * 70 // 100
    assert int(received["pacs_memory_limit"]) + int(received["airflow_memory_limit"]) + \
        int(received["opensearch_memory_limit"]) <= alloc
    assert int(received["airflow_memory_request"]) == int(received["airflow_memory_limit"]) // 3


def test_platform_pods_and_coredns(scenario):
    deploy = scenario["deploy"]
    names = deploy["pods"]
    for prefix in ("traefik", "oauth2-proxy", "keycloak", "kube-helm", "landing-page", "postgres", "minio"):
        assert any(n.startswith(prefix) for n in names), (prefix, names)
    assert "rewrite name exact kaapana.lab.internal. oauth2-proxy-service.admin.svc.cluster.local." in \
        deploy["corefile"]


def test_undeploy_kept_the_data_and_redeploy_reused_the_generated_secret(scenario):
    redeploy = scenario["redeploy"]
    assert redeploy["releases_after_undeploy"] == []
    assert redeploy["pods_after_undeploy"] == []
    assert redeploy["data_before"] == redeploy["data_after"]
    assert "/home/kaapana/verify-data/study.dcm" in redeploy["data_after"]
    first, again = scenario["deploy"]["values"]["global"], redeploy["values"]["global"]
    assert again["oidc_client_secret"] == first["oidc_client_secret"]
    for key in expected_global(scenario["deploy"], scenario["password"]):
        if key != "deployment_timestamp":
            assert again[key] == first[key], key
