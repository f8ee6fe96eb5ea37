# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Unit tests for plugins/module_utils/k8s_client.py (no cluster: a closed local port stands in for one)."""

import os
import socket

import pytest
from kubernetes import client as kclient
from kubernetes.client.rest import ApiException

from ansible_collections.kaapana.platform.plugins.module_utils import k8s_client as K

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster: {{server: "{server}", insecure-skip-tls-verify: true}}
users:
- name: admin
  user: {{token: abc}}
contexts:
- name: lab
  context: {{cluster: lab, user: admin}}
- name: other
  context: {{cluster: lab, user: admin}}
current-context: lab
"""


def closed_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def kubeconfig(tmp_path):
    path = tmp_path / 'config'
    server = 'https://127.0.0.1:%d' % closed_port()
    path.write_text(KUBECONFIG.format(server=server))
    return str(path), server


def test_explicit_kubeconfig_wins(kubeconfig, tmp_path):
    path, dummy = kubeconfig
    assert K.find_kubeconfig(path, environ={'KUBECONFIG': '/nope'}) == ('file', path)


def test_missing_explicit_kubeconfig_names_the_option(tmp_path):
    with pytest.raises(K.K8sClientError) as err:
        K.find_kubeconfig(str(tmp_path / 'missing'), environ={})
    assert 'kubeconfig option or K8S_AUTH_KUBECONFIG' in str(err.value)


def test_kubeconfig_env_lists_existing_files(kubeconfig, tmp_path):
    path, dummy = kubeconfig
    env = {'KUBECONFIG': os.pathsep.join([str(tmp_path / 'missing'), path])}
    assert K.find_kubeconfig(None, environ=env, home_config=str(tmp_path / 'home')) == ('file', path)


def test_home_then_incluster_then_microk8s(kubeconfig, tmp_path):
    path, dummy = kubeconfig
    none = str(tmp_path / 'none')
    assert K.find_kubeconfig(None, environ={}, home_config=path) == ('file', path)
    token = tmp_path / 'token'
    token.write_text('t')
    assert K.find_kubeconfig(None, environ={'KUBERNETES_SERVICE_HOST': '10.0.0.1'}, home_config=none,
                             incluster_token=str(token)) == ('incluster', None)
    assert K.find_kubeconfig(None, environ={}, home_config=none, microk8s_config=path,
                             incluster_token=str(token)) == ('file', path)


def test_nothing_found_names_option_and_env(tmp_path):
    with pytest.raises(K.K8sClientError) as err:
        K.find_kubeconfig(None, environ={}, home_config=str(tmp_path / 'none'),
                          microk8s_config=str(tmp_path / 'none2'), incluster_token=str(tmp_path / 'none3'))
    msg = str(err.value)
    assert msg.startswith('no kubeconfig found')
    assert 'kubeconfig option' in msg and 'K8S_AUTH_KUBECONFIG' in msg


def test_unknown_context_is_reported(kubeconfig):
    path, dummy = kubeconfig
    with pytest.raises(K.K8sClientError) as err:
        K.get_api_client(path, 'nope')
    assert 'context nope' in str(err.value) and path in str(err.value)


def test_bad_kubeconfig_file_is_reported(tmp_path):
    path = tmp_path / 'bad'
    path.write_text('apiVersion: v1\nkind: Config\nclusters: []\n')
    with pytest.raises(K.K8sClientError) as err:
        K.get_api_client(str(path))
    assert 'cannot load kubeconfig' in str(err.value)


def test_client_counts_requests_and_unreachable_server_is_described(kubeconfig):
    path, server = kubeconfig
    api_client, counter = K.get_api_client(path, 'other')
    assert K.api_host(api_client) == server
    core = kclient.CoreV1Api(api_client)
    for dummy in range(2):
        with pytest.raises(Exception) as err:
            core.list_namespace(_preload_content=False, _request_timeout=(2, 2))
        msg = K.describe_api_error(err.value, K.api_host(api_client))
        assert msg.startswith('cannot reach the Kubernetes API server at %s' % server)
        assert 'object at 0x' not in msg
    assert counter.count == 2


@pytest.mark.parametrize('status, body, expected', [
    (401, None, 'rejected the credentials (401 Unauthorized)'),
    (403, b'{"kind":"Status","message":"pods is forbidden: User \\"x\\" cannot list"}', 'forbidden by'),
    (500, b'not json', 'Kubernetes API error from https://h: 500'),
    (0, None, 'cannot talk to the Kubernetes API server at https://h'),
])
def test_describe_api_exceptions(status, body, expected):
    exc = ApiException(status=status, reason='SSLError\ncertificate verify failed' if status == 0 else 'Reason')
    exc.body = body
    msg = K.describe_api_error(exc, 'https://h')
    assert expected in msg
    if status == 403:
        assert 'cannot list' in msg


def test_require_kubernetes_fails_without_library(monkeypatch):
    calls = {}

    class Module:
        def fail_json(self, **kw):
            calls.update(kw)

    monkeypatch.setattr(K, 'HAS_KUBERNETES', False)
    K.require_kubernetes(Module())
    assert 'kubernetes' in calls['msg']


def test_describe_undecodable_answer():
    msg = K.describe_api_error(ValueError('Expecting value: line 1 column 1'), 'https://h')
    assert msg == 'unexpected answer from the Kubernetes API server at https://h: Expecting value: line 1 column 1'
    assert ValueError in K.API_ERRORS and OSError in K.API_ERRORS
