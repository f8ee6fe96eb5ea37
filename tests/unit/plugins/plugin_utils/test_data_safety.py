# -*- coding: utf-8 -*-
"""The data-safety rules: which data directories a purge may delete, and when a purge is confirmed."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.kaapana.platform.plugins.plugin_utils import data_safety


@pytest.mark.parametrize("path", ["/home/kaapana", "/home/kaapana-a", "/data/kaapana", "/data", "/mnt/pacs/fast",
                                  "/srv/kaapana", "/var/lib/kaapana", "/opt/kaapana/data", "/home/kaapana/fast",
                                  "/var/snap/kaapana"])
def test_usable_data_dirs(path):
    assert data_safety.data_dir_problem(path) is None


@pytest.mark.parametrize("path, words", [
    # the cases: each passed '^/[^/]+/.+' and the file module would have removed the normalised path
    ("/home/kaapana/..", "as /home"), ("/etc/..", "as /"), ("/home/.", "as /home"), ("/./home", "as /home"),
    ("/var/lib", "system directory"), ("/usr/local", "inside /usr"),
    ("/", "system directory"), ("/home", "system directory"), ("/var", "system directory"),
    ("/var/snap", "system directory"), ("/var/snap/microk8s", "inside /var/snap/microk8s"),
    ("/var/snap/microk8s/common/default-storage", "inside /var/snap/microk8s"), ("/etc/kaapana", "inside /etc"),
    ("/lib64", "system directory"), ("/usr", "system directory"), ("/root", "system directory"),
    ("/tmp", "system directory"), ("/var/lib/longhorn", "inside /var/lib/longhorn"),
    ("/home//kaapana", "as /home/kaapana"), ("//home/kaapana", "as /home/kaapana"), ("/home/kaapana/", "as /home/kaapana"),
    ("/home/kaapana\n", "newlines"), (" /home/kaapana", "white space"), ("/home/kaapana ", "white space"),
    ("home/kaapana", "absolute"), ("", "absolute"), (None, "absolute"), (5, "absolute"),
])
def test_refused_data_dirs(path, words):
    problem = data_safety.data_dir_problem(path)
    assert problem is not None and words in problem, problem


def test_problems_name_the_variable_and_value():
    problems = data_safety.data_dirs_problems({"kaapana_fast_data_dir": "/home/kaapana/..",
                                               "kaapana_slow_data_dir": "/data/slow"})
    assert len(problems) == 1
    assert problems[0].startswith("kaapana_fast_data_dir: '/home/kaapana/..' must be written normalised, as /home")
    assert data_safety.data_dirs_problems([{"name": "a", "path": "/x/y"}]) == []


def test_no_purge_without_the_flag():
    decision = data_safety.purge_decision(False, "kaapana.example.org", "kaapana.example.org")
    assert decision == {"purge": False, "error": None}
    assert data_safety.purge_decision("false", "", "") == {"purge": False, "error": None}


def test_purge_with_the_instance_name():
    decision = data_safety.purge_decision(True, "kaapana.example.org", "kaapana.example.org")
    assert decision == {"purge": True, "error": None}
    assert data_safety.purge_decision("yes", "kaapana.example.org", "kaapana.example.org")["purge"]


@pytest.mark.parametrize("confirm, instance", [("", ""), (".", "."), ("", " . "), (" ", " "), (None, None),
                                               ("", "."), (".", "")])
def test_an_empty_instance_name_never_confirms(confirm, instance):
    decision = data_safety.purge_decision(True, confirm, instance)
    assert not decision["purge"]
    assert "instance name is empty" in decision["error"]


@pytest.mark.parametrize("confirm", ["", "kaapana.example.com", "kaapana.example.org ", "KAAPANA.example.org"])
def test_a_wrong_confirmation_is_refused(confirm):
    decision = data_safety.purge_decision(True, confirm, "kaapana.example.org")
    assert not decision["purge"]
    assert "kaapana_purge_confirm is %r, not the instance name 'kaapana.example.org'" % confirm in decision["error"]


def test_purge_variables_from_the_inventory_are_refused():
    decision = data_safety.purge_decision(True, "kaapana.example.org", "kaapana.example.org",
                                          ["kaapana_purge_data", "kaapana_purge_confirm"])
    assert not decision["purge"]
    assert "kaapana_purge_data and kaapana_purge_confirm are set in the inventory" in decision["error"]
    assert "-e" in decision["error"]
    one = data_safety.purge_decision(True, "kaapana.example.org", "kaapana.example.org", ["kaapana_purge_confirm"])
    assert "kaapana_purge_confirm is set in the inventory" in one["error"]


def _release(name, namespace, release_name="kaapana-admin-chart", uid=""):
    return {"name": name, "namespace": namespace,
            "values": {"global.release_name": release_name, "global.instance_uid": uid}}


def test_instance_releases_keep_kaapanas_and_leave_the_rest():
    releases = [
        _release("kaapana-admin-chart", "default"),
        _release("kaapana-platform-chart", "admin"),
        _release("project-admin", "admin"),
        {"name": "foreign-app", "namespace": "default", "values": {"global.release_name": None,
                                                                   "global.instance_uid": None}},
        {"name": "foreign-admin", "namespace": "admin", "values": {}},
        _release("kaapana-admin-chart", "b-default", uid="b"),
        _release("kaapana-platform-chart-b", "admin", uid="b"),
        # a release in the Helm namespace that copied the values is not the platform release
        _release("copycat", "default"),
        {"name": "no-values", "namespace": "admin"},
    ]
    names = [r["name"] for r in data_safety.instance_releases(releases, "kaapana-admin-chart", "", "default")]
    assert names == ["kaapana-admin-chart", "kaapana-platform-chart", "project-admin"]
    names_b = [(r["namespace"], r["name"])
               for r in data_safety.instance_releases(releases, "kaapana-admin-chart", "b", "b-default")]
    assert names_b == [("b-default", "kaapana-admin-chart"), ("admin", "kaapana-platform-chart-b")]


def _volume(name, namespace=None, claim=None):
    status = {"kubernetesStatus": {"namespace": namespace, "pvcName": claim}} if claim else {}
    return {"metadata": {"name": name}, "status": status}


def test_longhorn_volumes_kept_unless_purged_with_their_namespace():
    volumes = [_volume("pvc-1", "services", "dcm4che-pv-claim"), _volume("pvc-2", "default", "foreign-data"),
               _volume("pvc-3")]
    kept = data_safety.longhorn_volumes_kept(volumes, ["services", "admin"])
    assert [v["label"] for v in kept] == ["pvc-2 (PVC default/foreign-data)", "pvc-3 (no PVC)"]
    assert len(data_safety.longhorn_volumes_kept(volumes)) == 3
    assert data_safety.longhorn_volumes_kept([]) == []
