# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Tests of the kaapana.platform.gpu role.

* the Molecule scenario ``gpu`` against the lab (a GPU node stand-in with two A100s next to a node
  without GPU: detection facts, GPU support on, the MicroK8s nvidia addon with Kaapana's
  gpu-operator arguments, validator pods Ready in the lab API, idempotence, check mode; before that,
  a gpu-operator version the stand-in repository lacks fails the role on the main node although
  `microk8s enable nvidia` exits 0, as the real addon does);
* bad input is rejected before anything runs: the role goes through ansible-playbook against
  localhost (no lab needed) and must fail with the variable and the accepted values named, before
  its first nvidia-smi or microk8s command.
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
def test_molecule_gpu_scenario(lab):
    proc = subprocess.run(["bash", "scripts/molecule.sh", "gpu"], cwd=ROOT, env=lab.env(),
                          capture_output=True, text=True, timeout=1800, check=False)
    assert proc.returncode == 0, "molecule test -s gpu failed:\n%s\n%s" % (proc.stdout[-20000:], proc.stderr[-5000:])


# ---------------------------------------------------------------------------------------
# bad input, against localhost
# ---------------------------------------------------------------------------------------

def run_role(tmp_path, role_vars, tasks_from=None, main_hosts=("localhost",)):
    return run_role_locally(tmp_path, "gpu", role_vars, tasks_from, main_hosts)


# Tasks that must not have run when the input is bad: the first read and every change.
NOT_REACHED = ["Query the GPUs with nvidia-smi", "Read the MicroK8s addon status", "Enable the MicroK8s nvidia addon"]


@pytest.mark.parametrize("tasks_from", [None, "validate"], ids=["main", "validate-entry-point"])
@pytest.mark.parametrize("role_vars, expected", [
    ({"kaapana_gpu_support": "maybe"}, ["kaapana_gpu_support", "auto, true, false", "maybe"]),
    ({"kaapana_gpu_support": "yes please"}, ["kaapana_gpu_support", "auto, true, false"]),
    ({"kaapana_gpu_operator_driver": "nouveau"}, ["kaapana_gpu_operator_driver", "host, operator, auto"]),
    ({"kaapana_gpu_operator_version": "latest"}, ["kaapana_gpu_operator_version", '"latest"']),
    ({"kaapana_gpu_operator_set": ["toolkit.env[3].name"]}, ["kaapana_gpu_operator_set", "key=value"]),
    ({"kaapana_gpu_wait_timeout": "soon"}, ["kaapana_gpu_wait_timeout"]),
], ids=["support-maybe", "support-words", "driver", "version", "set-without-value", "timeout"])
def test_bad_input_fails_before_any_command(tmp_path, tasks_from, role_vars, expected):
    proc = run_role(tmp_path, role_vars, tasks_from)
    assert_rejected(proc, expected, NOT_REACHED)


def test_two_main_hosts_fail_before_any_command(tmp_path):
    proc = run_role(tmp_path, {}, main_hosts=("localhost", "other-main"))
    output = assert_rejected(proc, (), NOT_REACHED, unchanged=False)
    assert "kaapana_main must contain exactly one host" in output and "it contains 2" in output, output


@pytest.mark.parametrize("value", [True, False, "auto", "true", "false"])
def test_accepted_values_pass_validation(tmp_path, value):
    proc = run_role(tmp_path, {"kaapana_gpu_support": value}, "validate")
    assert proc.returncode == 0, proc.stdout + proc.stderr
