# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Tests of the kaapana.platform.longhorn role.

* the Molecule scenario ``longhorn`` against the lab: two nodes (main + worker) with MicroK8s
  joined into one cluster, then the role: check mode first (nothing may change), the node
  prerequisites (iscsid enabled and running, NO_PROXY), the Longhorn fixture chart from a local
  .tgz on the controller with MicroK8s' kubelet root, pods Ready, the ``longhorn`` StorageClass and
  CSI driver, Kaapana's disk tags on the main node's Longhorn node (registered by the lab's
  stand-in for longhorn-manager) and Kaapana's settings, idempotence; the cleanup runs the role's
  uninstall (deleting-confirmation-flag first; the fixture refuses the uninstall otherwise);
* bad input is rejected by the role's validate step before anything runs (against localhost,
  no lab needed).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

import pytest

from tests.integration.nodes import assert_rejected, run_role_locally

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.lab
@pytest.mark.slow
def test_molecule_longhorn_scenario(lab):
    proc = subprocess.run(["bash", "scripts/molecule.sh", "longhorn"], cwd=ROOT, env=lab.env(),
                          capture_output=True, text=True, timeout=2400, check=False)
    output = proc.stdout[-20000:] + "\n" + proc.stderr[-5000:]
    assert proc.returncode == 0, "molecule test -s longhorn failed:\n" + output


# ---------------------------------------------------------------------------------------
# bad input, against localhost: the role must fail in validate, before its first change
# ---------------------------------------------------------------------------------------

def run_role(tmp_path, role_vars, tasks_from=None, main_hosts=("localhost",)):
    return run_role_locally(tmp_path, "longhorn", role_vars, tasks_from, main_hosts)


# The first tasks that change something or talk to a node's package manager or the cluster.
NOT_REACHED = ["Install the iSCSI initiator", "Enable and start iscsid", "Install the Longhorn release",
               "Copy the local Longhorn chart", "Confirm the deletion to Longhorn"]


@pytest.mark.parametrize("tasks_from", [None, "validate"], ids=["main", "validate-entry-point"])
@pytest.mark.parametrize("role_vars, expected", [
    ({"kaapana_storage_provider": "nfs"},
     ["kaapana_storage_provider", "hostpath, microk8s, microk8s.io/hostpath, longhorn, driver.longhorn.io"]),
    ({"kaapana_volume_slow_data": "100GB"}, ["kaapana_volume_slow_data", "100Gi", "Did you mean 100G"]),
    ({"kaapana_volume_slow_data": "-1Gi"}, ["kaapana_volume_slow_data", "positive Kubernetes quantity"]),
    ({"kaapana_storage_provider": "longhorn", "kaapana_storage_class_slow": "Bad_Class"},
     ["kaapana_storage_class_slow", "StorageClass name"]),
    ({"kaapana_longhorn_chart_ref": "ftp://charts/longhorn.tgz"},
     ["kaapana_longhorn_chart_ref", "oci://host[:port]/path/chart"]),
    ({"kaapana_longhorn_chart_ref": "longhorn", "kaapana_longhorn_repo_url": ""},
     ["kaapana_longhorn_chart_ref", "repo/chart"]),
    ({"kaapana_longhorn_chart_ref": "/nonexistent/longhorn-1.10.1.tgz"},
     ["kaapana_longhorn_chart_ref", "does not exist on the controller"]),
    ({"kaapana_longhorn_version": "latest"}, ["kaapana_longhorn_version", "1.10.1"]),
    ({"kaapana_longhorn_state": "removed"}, ["kaapana_longhorn_state", "present, absent"]),
    ({"kaapana_fast_data_dir": "data/fast"}, ["kaapana_fast_data_dir", "absolute paths"]),
    ({"kaapana_longhorn_settings": {"Bad Name": 1}}, ["kaapana_longhorn_settings", "Bad Name"]),
    ({"kaapana_longhorn_helm_timeout": "ten minutes"}, ["kaapana_longhorn_helm_timeout"]),
], ids=["provider", "quantity-GB", "quantity-negative", "class-override", "chart-scheme", "chart-bare-name",
        "chart-missing", "version", "state", "data-dir", "setting-name", "helm-timeout"])
def test_bad_input_fails_before_any_change(tmp_path, tasks_from, role_vars, expected):
    proc = run_role(tmp_path, role_vars, tasks_from)
    assert_rejected(proc, expected, NOT_REACHED)


def test_two_main_hosts_fail_before_any_change(tmp_path):
    proc = run_role(tmp_path, {}, main_hosts=("localhost", "other-main"))
    output = assert_rejected(proc, (), NOT_REACHED, unchanged=False)
    assert "kaapana_main" in output and "it contains 2" in output, output


@pytest.mark.parametrize("role_vars", [
    {},
    {"kaapana_storage_provider": "driver.longhorn.io", "kaapana_volume_slow_data": "1.5Ti",
     "kaapana_storage_class_slow": "kaapana-hostpath-slow-data-dir"},
    {"kaapana_longhorn_chart_ref": "oci://10.89.0.1:5000/charts/longhorn", "kaapana_longhorn_plain_http": True},
    {"kaapana_longhorn_state": "absent", "kaapana_longhorn_chart_ref": "not checked when absent"},
], ids=["defaults", "storage", "oci", "absent"])
def test_accepted_values_pass_validation(tmp_path, role_vars):
    proc = run_role(tmp_path, role_vars, "validate")
    assert proc.returncode == 0, proc.stdout + proc.stderr
