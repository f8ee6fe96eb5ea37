# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Lab test of the kaapana.platform.no_proxy role (issue 14 item 11): a proxy URL with credentials reaches snapd
without ever being on a command line. On a lab node container (not primary, MicroK8s' files laid out), every
`snap` invocation's argv is recorded by a tap in front of the snap stand-in, and a poller inside the container
records the command line of every process while the role runs (at -vvv); neither, nor the output, may hold the
password, and snapd must hold the proxy afterwards."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

from lab import nodes
from tests.integration.nodes import podman, run_role_on_node

pytestmark = pytest.mark.lab

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
NODE = "proxy-argv"
PASSWORD = "Argv-Pr0xy-Secret-8q2"
PROXY_URL = "http://kaapana:%s@proxy.lab.invalid:3128" % PASSWORD
TAP_LOG = "/var/log/kaapana-lab-snap-argv.log"
POLL_LOG = "/var/log/kaapana-lab-cmdlines.log"
# Every command line of every process, every few milliseconds, while the file /run/kaapana-lab-poll exists.
POLLER = r"""
import os, time
seen = set()
with open(%r, "a") as out:
    while os.path.exists("/run/kaapana-lab-poll"):
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    with open("/proc/%%s/cmdline" %% pid, "rb") as handle:
                        line = handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
                except OSError:
                    continue
                if line and line not in seen:
                    seen.add(line)
                    out.write(line + "\n")
                    out.flush()
        time.sleep(0.002)
""" % POLL_LOG


@pytest.fixture(scope="module")
def argv_node(lab):
    image = nodes.build_image(lab.cfg, log=lambda msg: None)
    podman(lab, "rm", "-f", "-t", "5", NODE, check=False)
    podman(lab, "run", "-d", *nodes.node_run_args(lab.cfg, NODE, primary=False), image, "/usr/lib/kaapana-lab/init.sh")
    try:
        podman(lab, "exec", NODE, "systemctl", "is-system-running", "--wait", check=False)
        podman(lab, "exec", NODE, "snap", "wait", "system", "seed.loaded")  # snapd refuses changes while it seeds
        podman(lab, "exec", NODE, "snap", "install", "microk8s", "--classic", "--channel=1.33/stable")
        # The tap: every `snap` command's argv goes to TAP_LOG, then the stand-in runs as before.
        podman(lab, "exec", "-i", NODE, "sh", "-c", "mv /usr/bin/snap /usr/bin/snap.standin && cat > /usr/bin/snap && "
               "chmod 0755 /usr/bin/snap", input_text='#!/bin/sh\nprintf "%%s\\n" "snap $*" >> %s\n'
               'exec /usr/bin/snap.standin "$@"\n' % TAP_LOG)
        yield NODE
    finally:
        podman(lab, "rm", "-f", "-t", "5", NODE, check=False)


def run_role(lab, tmp_path, role_vars):
    return run_role_on_node(lab, tmp_path, NODE, "no_proxy", role_vars, extra_args=["-vvv"])


@pytest.mark.reliability('secrets', 'no_proxy: a proxy password reaches snapd but is in no snap argv, no process '
                                    'command line seen while the role ran, and not in the -vvv output of the snapd tasks')
def test_proxy_credentials_reach_snapd_without_a_command_line(lab, argv_node, tmp_path):
    role_vars = {"kaapana_http_proxy": PROXY_URL, "kaapana_https_proxy": PROXY_URL, "kaapana_proxy_reboot": False,
                 "kaapana_sysctl_apply": False}
    podman(lab, "exec", argv_node, "touch", "/run/kaapana-lab-poll")
    poller = subprocess.Popen(["podman", "exec", argv_node, "python3", "-c", POLLER], env=nodes.podman_env(lab.cfg))
    try:
        res = run_role(lab, tmp_path, role_vars)
    finally:
        podman(lab, "exec", argv_node, "rm", "-f", "/run/kaapana-lab-poll", check=False)
        poller.wait(timeout=60)
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-2000:]
    taps = podman(lab, "exec", argv_node, "cat", TAP_LOG).stdout
    cmdlines = podman(lab, "exec", argv_node, "cat", POLL_LOG).stdout
    assert "snap get" in taps and "snap debug api" in taps or "snap set" in taps, taps  # the tap saw snap run
    assert "ansible" in cmdlines.lower() or "python" in cmdlines, "the poller saw nothing"
    assert PASSWORD not in taps, "a snap command line held the proxy password:\n%s" % taps
    leaked = [line for line in cmdlines.splitlines() if PASSWORD in line]
    assert not leaked, "process command lines holding the proxy password: %s" % leaked
    snapd_output = "\n".join(block for block in res.stdout.split("\nTASK [") if "snapd" in block.split("]", 1)[0])
    assert "snapd" in snapd_output and PASSWORD not in snapd_output, "the snapd tasks showed the password at -vvv"
    # Nor any other task of the role (reading, computing and writing /etc/environment and containerd-env).
    shown = [block.split("]", 1)[0] for block in (res.stdout + res.stderr).split("\nTASK [") if PASSWORD in block]
    assert not shown, "tasks that showed the proxy password at -vvv: %s" % shown
    conf = json.loads(podman(lab, "exec", argv_node, "snap.standin", "get", "-d", "system", "proxy").stdout)
    assert conf == {"proxy": {"http": PROXY_URL, "https": PROXY_URL}}
    # A second run finds snapd's proxy as wanted and changes nothing there.
    again = run_role(lab, tmp_path, role_vars)
    assert again.returncode == 0, again.stdout[-4000:]
    assert "changed=0" in again.stdout, again.stdout[-4000:]
