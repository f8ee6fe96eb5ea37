# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Unit tests of masking and error classification in plugins/module_utils/helm_errors.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.kaapana.platform.plugins.module_utils import helm_errors
from tests.unit.plugins.module_utils.helm_fixtures import major_params, real_output


def test_mask_command_and_text():
    argv = ["helm", "registry", "login", "host", "--username", "u", "--password", "s3cr3t", "--password=s3cr3t",
            "x=s3cr3t"]
    text = helm_errors.mask_command(argv, ["s3cr3t"])
    assert "s3cr3t" not in text
    assert "--password ********" in text and "--password=********" in text and "x=********" in text
    assert helm_errors.mask_text("a s3cr3t b", ["s3cr3t", ""]) == "a ******** b"
    assert helm_errors.mask_text(None, ["x"]) is None


@pytest.mark.parametrize("stderr,stage,needle", [
    ("Error: Kubernetes cluster unreachable: Get \"https://10.89.0.1:6443/version\": dial tcp 10.89.0.1:6443: "
     "connect: connection refused", "status", "kubeconfig and context"),
    ('Error: context "nope" does not exist', "status", "context option"),
    ('Error: failed to perform "FetchReference" on source: GET "http://10.89.0.1:5000/v2/charts/x/manifests/9.9.9": '
     'response status code 404: manifest unknown', "pull", "check chart_ref and chart_version"),
    ("Error: failed to authorize: failed to fetch oauth token: basic credential not found", "pull",
     "registry.username"),
    ('Error: GET "http://h/v2/c/manifests/1": response status code 401: unauthorized', "pull", "401/403"),
    ('Error: authenticating to "10.89.0.1:5000": GET "http://10.89.0.1:5000/v2/": response status code 401: '
     'Unauthorized', "login", "refused the credentials"),
    ("Error: http: server gave HTTP response to HTTPS client", "pull", "plain_http: true"),
    ('Error: INSTALLATION FAILED: create: failed to create: namespaces "nope" not found', "install",
     "create_namespace"),
    ("Error: UPGRADE FAILED: timed out waiting for the condition", "upgrade", "raise timeout"),
    ("Error: UNINSTALLATION FAILED: context deadline exceeded", "uninstall", "timeout"),
    ("Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress", "upgrade", "in progress"),
    ("Error: INSTALLATION FAILED: values don't meet the specifications of the schema(s)", "install", "values"),
    ("Error: INSTALLATION FAILED: template: demo/templates/cm.yaml:3: executing ...", "install", "values"),
    ("Error: something new", "install", "helm install failed: something new"),
])
def test_classify_error(stderr, stage, needle):
    msg = helm_errors.classify_error(stderr, stage, chart_ref="oci://10.89.0.1:5000/charts/x", chart_version="9.9.9",
                                     host="10.89.0.1:5000")
    assert needle in msg


def test_classify_error_masks_secrets():
    msg = helm_errors.classify_error("Error: weird failure with hunter2 inside", "login", host="h", secrets=["hunter2"])
    assert "hunter2" not in msg and helm_errors.MASK in msg


def test_release_not_found_and_auth_detection():
    assert helm_errors.is_release_not_found("Error: release: not found")
    assert not helm_errors.is_release_not_found("Error: chart not found")
    assert helm_errors.is_auth_error("response status code 403: denied")
    assert not helm_errors.is_auth_error("response status code 404: manifest unknown")


@pytest.mark.parametrize("stderr, transient", [
    ("Error: dial tcp 10.89.0.1:5000: connect: connection refused", True),
    ("Error: Get \"https://r/v2/\": net/http: TLS handshake timeout", True),
    ("Error: unexpected status code 503 Service Unavailable", True),
    ("Error: read tcp 10.0.0.1:1->10.0.0.2:5000: read: connection reset by peer", True),
    ("Error: response status code 404: manifest unknown", False),
    ("Error: response status code 401: unauthorized: authentication required", False),
    ("Error: failed to authorize: failed to fetch oauth token: basic credential not found", False),
    ("", False),
])
def test_is_transient_pull_error(stderr, transient):
    assert helm_errors.is_transient_pull_error(stderr) is transient


def test_retry_delays_double_and_cap():
    assert helm_errors.retry_delays(0) == []
    assert helm_errors.retry_delays(3) == [2, 4, 8]
    assert helm_errors.retry_delays(6) == [2, 4, 8, 16, 30, 30]
    assert helm_errors.retry_delays(None) == []


@pytest.mark.parametrize("major", major_params())
@pytest.mark.parametrize("name,stage,needle", [
    ("err_name_in_use.txt", "install", "release name is still in use"),
    ("err_no_deployed.txt", "upgrade", "no deployed revision"),
    ("err_pending.txt", "upgrade", "another helm operation is in progress"),
])
def test_real_helm_errors_are_classified(major, name, stage, needle):
    """stderr of the real helm 3 and helm 4 (Helm 4 says "cannot reuse a name", Helm 3 "cannot re-use a name")."""
    stderr = real_output(major, name)
    msg = helm_errors.classify_error(stderr, stage)
    assert needle in msg and "level=ERROR" not in msg


@pytest.mark.parametrize("major", major_params())
@pytest.mark.parametrize("name", ["err_not_found.txt", "err_uninstall_not_found.txt"])
def test_real_release_not_found(major, name):
    assert helm_errors.is_release_not_found(real_output(major, name))


@pytest.mark.parametrize("stderr,needle", [
    pytest.param("Error: Kubernetes cluster unreachable: Get \"https://10.89.0.1:6443/version\": dial tcp: connect: "
                 "connection refused", "Kubernetes is unreachable", id="helm3-unreachable"),
    pytest.param("Error: kubernetes cluster unreachable: Get \"https://10.89.0.1:6443/version\": dial tcp: connect: "
                 "connection refused", "Kubernetes is unreachable", id="helm4-unreachable"),
    # Helm 4's watcher (pkg/kube/statuswait.go) joins one line per resource with the context's error
    pytest.param("Error: INSTALLATION FAILED: resource Deployment/ns1/web not ready. status: InProgress, message: "
                 "Available: 0/1\ncontext deadline exceeded\n", "timed out (INSTALLATION FAILED: resource "
                 "Deployment/ns1/web not ready", id="helm4-watcher-timeout"),
    pytest.param("Error: UPGRADE FAILED: release demo failed, and has been rolled back due to rollback-on-failure "
                 "being set: context deadline exceeded", "helm upgrade timed out", id="helm4-rollback-on-failure"),
    pytest.param("Error: UPGRADE FAILED: conflict occurred while applying object ns1/web apps/v1, Kind=Deployment: "
                 "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas",
                 "set server_side: false", id="helm4-ssa-conflict"),
])
def test_helm4_wordings(stderr, needle):
    assert needle in helm_errors.classify_error(stderr, "install" if "INSTALL" in stderr else "upgrade")
