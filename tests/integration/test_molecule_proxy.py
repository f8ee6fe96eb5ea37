# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Lab tests of the kaapana.platform.no_proxy role.

* the Molecule scenario ``proxy`` (two nodes, pre-existing /etc/environment content that must
  survive byte for byte, containerd-env, snapd's proxy, check mode, idempotence);
* bad input is rejected before anything changes: the role runs through ansible-playbook against a
  lab node container and must fail with the variable and the value named, leaving
  /etc/environment, containerd-env and snapd's proxy as they were.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

import pytest

from lab import nodes
from tests.integration.nodes import assert_rejected, podman, run_role_on_node

pytestmark = pytest.mark.lab

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
NODE = "proxy-bad-input"
ENVIRONMENT = ('# lab fixture: must not be touched when the input is bad\n'
               '\n'
               'PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"\n'
               'FOO="bar baz"\n'
               'no_proxy=old.example')
CONTAINERD_ENV = '/var/snap/microk8s/current/args/containerd-env'


@pytest.mark.slow
@pytest.mark.reliability('data safety', '/etc/environment content not managed by the collection preserved byte for byte (Molecule proxy)')
def test_molecule_proxy_scenario(lab):
    proc = subprocess.run(["bash", "scripts/molecule.sh", "proxy"], cwd=ROOT, env=lab.env(),
                          capture_output=True, text=True, timeout=1800, check=False)
    assert proc.returncode == 0, "molecule test -s proxy failed:\n%s\n%s" % (proc.stdout[-20000:], proc.stderr[-5000:])


# ---------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------

def node_state(lab):
    """What a bad run must leave alone: the two files and snapd's configuration."""
    script = "cat /etc/environment; echo '<<EOF>>'; cat %s; echo '<<EOF>>'; snap get -d system || true" % CONTAINERD_ENV
    return podman(lab, "exec", NODE, "sh", "-c", script).stdout


@pytest.fixture(scope="module")
def bad_input_node(lab):
    """A lab node container (not primary: it never touches the lab API) with MicroK8s' files and an
    /etc/environment fixture."""
    image = nodes.build_image(lab.cfg, log=lambda msg: None)
    podman(lab, "rm", "-f", "-t", "5", NODE, check=False)
    podman(lab, "run", "-d", *nodes.node_run_args(lab.cfg, NODE, primary=False), image,
           "/usr/lib/kaapana-lab/init.sh")
    try:
        podman(lab, "exec", NODE, "snap", "wait", "system", "seed.loaded")  # snapd refuses changes while it seeds
        podman(lab, "exec", NODE, "snap", "install", "microk8s", "--classic", "--channel=1.33/stable")
        podman(lab, "exec", "-i", NODE, "sh", "-c", "cat > /etc/environment", input_text=ENVIRONMENT)
        yield NODE
    finally:
        podman(lab, "rm", "-f", "-t", "5", NODE, check=False)


def run_role(lab, tmp_path, role_vars, extra_main_alias=False):
    aliases = ["proxy-bad-input-alias"] if extra_main_alias else []
    return run_role_on_node(lab, tmp_path, NODE, "no_proxy", role_vars, main_aliases=aliases)


PROXY = {"kaapana_http_proxy": "http://proxy.lab.invalid:3128", "kaapana_proxy_reboot": False}


@pytest.mark.parametrize("role_vars, extra_main_alias, expected", [
    (dict(PROXY, kaapana_no_proxy_extra=["10.0.0.0/33"]), False, ["kaapana_no_proxy_extra", "'10.0.0.0/33'"]),
    (dict(PROXY, kaapana_no_proxy=["ok.example", "bad_name.example"]), False,
     ["kaapana_no_proxy", "'bad_name.example'"]),
    (dict(PROXY, kaapana_pod_cidr="10.1.0.5/16"), False, ["kaapana_pod_cidr", "'10.1.0.5/16'", "10.1.0.0/16"]),
    (dict(PROXY, kaapana_http_proxy="proxy.lab.invalid:3128"), False,
     ["kaapana_http_proxy", "'proxy.lab.invalid:3128'"]),
    (dict(PROXY, kaapana_proxy_reboot="sometimes"), False, ["kaapana_proxy_reboot"]),
    (dict(PROXY), True, ["kaapana_main must contain exactly one host", "it contains 2"]),
], ids=["bad-cidr-extra", "bad-hostname", "cidr-host-bits", "proxy-without-scheme", "bad-bool", "two-main-hosts"])
def test_bad_input_fails_before_any_change(lab, bad_input_node, tmp_path, role_vars, extra_main_alias, expected):
    before = node_state(lab)
    assert before.startswith(ENVIRONMENT + "<<EOF>>")
    proc = run_role(lab, tmp_path, role_vars, extra_main_alias)
    assert_rejected(proc, expected)
    assert node_state(lab) == before
