# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""The snap stand-in's `debug api` and `watch` (what the no_proxy role uses to give snapd its proxy without a
command line), against a fake root: request and response shapes as snapd's REST API has them, the body read from
stdin, and `snap get`/`snap set` seeing the same configuration."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

SNAP = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                    "lab", "standins", "snap")
URL = "http://kaapana:p&ss<w>rd@proxy.lab.invalid:3128"


@pytest.fixture
def snap(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAAPANA_LAB")}
    env.update({"KAAPANA_LAB_STANDIN_ROOT": str(tmp_path), "KAAPANA_LAB_STANDIN_NOW": "1767225600", "TZ": "UTC"})

    def run(*args, stdin=None):
        return subprocess.run([sys.executable, SNAP] + list(args), env=env, input=stdin, capture_output=True,
                              text=True, timeout=60, check=False)
    return run


def test_put_conf_reads_the_body_from_stdin_and_answers_async(snap):
    proc = snap("debug", "api", "-X", "PUT", "-H", "Content-Type: application/json", "/v2/snaps/system/conf",
                stdin=json.dumps({"proxy.http": URL, "proxy.https": URL}))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"type": "async", "status-code": 202, "status": "Accepted", "result": None,
                                       "change": "1"}
    assert proc.stdout.startswith('{\n  "change": "1",\n')  # Go's encoder: sorted keys, two spaces
    assert json.loads(snap("get", "-d", "system", "proxy").stdout) == {"proxy": {"http": URL, "https": URL}}
    assert snap("watch", "1").returncode == 0
    change = json.loads(snap("debug", "api", "/v2/changes/1").stdout)["result"]
    assert (change["kind"], change["status"], change["ready"]) == ("configure-snap", "Done", True)


def test_get_conf_and_errors_as_snapd_answers_them(snap):
    missing = json.loads(snap("debug", "api", "/v2/snaps/system/conf?keys=proxy").stdout)
    assert missing == {"type": "error", "status-code": 400, "status": "Bad Request",
                       "result": {"kind": "option-not-found",
                                  "message": 'snap "core" has no "proxy" configuration option'}}
    assert snap("set", "system", "proxy.http=" + URL).returncode == 0
    got = json.loads(snap("debug", "api", "/v2/snaps/system/conf?keys=proxy.http").stdout)
    assert got == {"type": "sync", "status-code": 200, "status": "OK", "result": {"proxy.http": URL}}
    assert "\\u0026" in snap("debug", "api", "/v2/snaps/system/conf?keys=proxy").stdout  # & escaped as Go does
    # null unsets, as `snap unset` does
    snap("debug", "api", "-X", "PUT", "/v2/snaps/system/conf", stdin='{"proxy.http": null}')
    assert snap("get", "system", "proxy.http").returncode == 1
    bad = json.loads(snap("debug", "api", "-X", "PUT", "/v2/snaps/system/conf", stdin='{"Bad_Key": 1}').stdout)
    assert bad["status-code"] == 400 and bad["result"]["message"] == 'invalid option name: "Bad_Key"'
    assert snap("debug", "api", "/v2/nothing").returncode == 0  # errors are printed, not failed ...
    failed = snap("debug", "api", "--fail", "/v2/nothing")  # ... unless --fail
    assert failed.returncode == 1 and failed.stderr == "error: request failed with status 404 Not Found\n"
    watch = snap("watch", "99")
    assert watch.returncode == 1 and watch.stderr == 'error: cannot find change with id "99"\n'
    assert snap("debug", "api", "-X", "DELETE", "/v2/snaps").stderr == 'error: unsupported method "DELETE"\n'
