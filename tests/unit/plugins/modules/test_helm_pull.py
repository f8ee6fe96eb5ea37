# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""helm_pull with a scripted helm: the archive lands in the destination, credentials and proxy stay off argv."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.kaapana.platform.plugins.module_utils import helm_manager
from ansible_collections.kaapana.platform.plugins.modules import helm_pull
from tests.unit.plugins.modules.test_helm_release import OCI, REFUSED, SECRET, _pull

PROXY = "http://deploy:Pr0xy-Pa55@proxy.lab:3128"


@pytest.fixture
def no_sleep(monkeypatch):
    monkeypatch.setattr(helm_manager.ReleaseManager, "sleep", lambda self, seconds: None)


def args(dest, **kw):
    base = {"chart_ref": OCI, "chart_version": "0.1.0", "plain_http": True, "destination": str(dest),
            "registry": {"username": "kaapana-lab", "password": SECRET},
            "proxy_environment": {"HTTP_PROXY": PROXY, "NO_PROXY": "localhost"}}
    base.update(kw)
    return base


def test_pull_writes_a_private_archive_and_keeps_secrets_off_argv(run_helm_module, tmp_path, monkeypatch):
    monkeypatch.setenv("HELM_REGISTRY_CONFIG", str(tmp_path / "user-registry.json"))
    res, helm, out = run_helm_module(helm_pull.main, args(tmp_path), [
        (["registry", "login", "10.89.0.1:5000"], 0, "Login Succeeded\n", ""),
        (["pull", OCI], 0, _pull, ""),
    ])
    assert res["changed"] is True and res["path"] == str(tmp_path / "demo-0.1.0.tgz")
    assert (res["chart_name"], res["chart_version"]) == ("demo", "0.1.0")
    assert stat.S_IMODE(os.stat(res["path"]).st_mode) == 0o600
    assert res["oci_digest"] == "sha256:" + "b" * 64
    for call in helm.calls:
        assert call["env"]["HTTP_PROXY"] == PROXY and SECRET not in " ".join(call["argv"])
        assert PROXY not in " ".join(call["argv"])
        # the login's credentials go to a registry config of this run, not the user's
        assert call["env"]["HELM_REGISTRY_CONFIG"] != str(tmp_path / "user-registry.json")
    assert helm.calls[0]["data"] == SECRET
    assert SECRET not in out and "Pr0xy-Pa55" not in out


def test_pull_gives_up_clearly_naming_the_registry(run_helm_module, tmp_path, no_sleep):
    res, _helm, out = run_helm_module(helm_pull.main, args(tmp_path, registry=None, pull_retries=1), [
        (["pull", OCI], 1, "", REFUSED),
        (["pull", OCI], 1, "", REFUSED),
    ])
    assert res["failed"] and "gave up after 2 attempts" in res["msg"] and "10.89.0.1:5000" in res["msg"]
    assert "Pr0xy-Pa55" not in out


def test_local_chart_and_missing_destination_are_refused(run_helm_module, tmp_path):
    res, helm, _out = run_helm_module(helm_pull.main, args(tmp_path, chart_ref=str(tmp_path)), [])
    assert res["failed"] and "local chart" in res["msg"] and not helm.calls
    res, helm, _out = run_helm_module(helm_pull.main, args(tmp_path / "missing"), [])
    assert res["failed"] and "not an existing directory" in res["msg"] and not helm.calls


def test_check_mode_pulls_nothing(run_helm_module, tmp_path):
    res, helm, _out = run_helm_module(helm_pull.main, args(tmp_path), [], check_mode=True)
    assert res["changed"] is True and res["path"] is None and not helm.calls and not os.listdir(str(tmp_path))
