# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Kubernetes API client factory shared by the collection's Kubernetes-facing modules.

* The argument spec behind the ``kaapana.platform.k8s_auth`` doc fragment is ``K8S_AUTH_ARG_SPEC``
  in ``k8s_args.py``.
* :func:`get_api_client` loads a kubeconfig (explicit path, ``$KUBECONFIG``,
  ``~/.kube/config``), else the in-cluster service account, else the MicroK8s client config,
  and fails with a message that names the ``kubeconfig`` option and ``K8S_AUTH_KUBECONFIG``.
* :class:`RequestCounter` counts the HTTP requests an ApiClient makes (every list, watch,
  reconnect, get), for the ``api_requests`` result.
* :func:`describe_api_error` turns client exceptions into one readable line with the
  server URL.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import threading
import traceback

from ansible.module_utils.basic import missing_required_lib

try:
    import urllib3
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.client.rest import ApiException
    from kubernetes.config.config_exception import ConfigException
    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
    # What a request through the client can raise besides programming errors: API errors,
    # connection/TLS/timeout errors, and undecodable answers.
    API_ERRORS = (ApiException, urllib3.exceptions.HTTPError, OSError, ValueError)
except ImportError:
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()
    API_ERRORS = (OSError, ValueError)

    class ConfigException(Exception):  # type: ignore[no-redef]
        """Stand-in so that ``except ConfigException`` works without the library."""


MICROK8S_KUBECONFIG = '/var/snap/microk8s/current/credentials/client.config'
INCLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token'
CONNECT_TIMEOUT = 10


class K8sClientError(Exception):
    """Configuration or connection problem, with a message meant for the user."""


def require_kubernetes(module):
    """Fail ``module`` with the standard message when the kubernetes library is missing."""
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib('kubernetes'), exception=KUBERNETES_IMPORT_ERROR)


def _first_existing(paths):
    for path in paths:
        if path and os.path.exists(os.path.expanduser(path)):
            return path
    return None


def find_kubeconfig(kubeconfig=None, environ=None, home_config='~/.kube/config',
                    microk8s_config=None, incluster_token=None):
    """Where to load credentials from: ``(kind, path)``.

    ``kind`` is ``file`` (``path`` is a kubeconfig; ``$KUBECONFIG`` may list several files
    separated by ``:``) or ``incluster``. Order: the ``kubeconfig`` argument (the option or
    ``K8S_AUTH_KUBECONFIG``), ``$KUBECONFIG``, ``~/.kube/config``, the in-cluster service
    account (``KUBERNETES_SERVICE_HOST`` set and a token mounted), the MicroK8s client config.
    Raises :class:`K8sClientError` when none is there.
    """
    environ = os.environ if environ is None else environ
    microk8s_config = MICROK8S_KUBECONFIG if microk8s_config is None else microk8s_config
    incluster_token = INCLUSTER_TOKEN if incluster_token is None else incluster_token
    if kubeconfig:
        path = os.path.expanduser(kubeconfig)
        if not os.path.isfile(path):
            raise K8sClientError(
                'kubeconfig %s (from the kubeconfig option or K8S_AUTH_KUBECONFIG) does not exist or '
                'is not a file' % kubeconfig)
        return 'file', path
    env = environ.get('KUBECONFIG')
    if env:
        existing = [p for p in env.split(os.pathsep) if p and os.path.exists(os.path.expanduser(p))]
        if existing:
            return 'file', os.pathsep.join(existing)
    home = os.path.expanduser(home_config)
    if os.path.isfile(home):
        return 'file', home
    if environ.get('KUBERNETES_SERVICE_HOST') and os.path.exists(incluster_token):
        return 'incluster', None
    if microk8s_config and os.path.isfile(microk8s_config) and os.access(microk8s_config, os.R_OK):
        return 'file', microk8s_config
    looked = ['$KUBECONFIG (%s)' % (env or 'unset'), home_config,
              'the in-cluster service account', microk8s_config]
    raise K8sClientError(
        'no kubeconfig found: set the kubeconfig option or the K8S_AUTH_KUBECONFIG environment '
        'variable to a kubeconfig file (looked at %s)' % ', '.join(looked))


class RequestCounter:
    """Counts the HTTP requests made through ``api_client`` (thread-safe).

    It wraps ``api_client.rest_client.request``, the one method every generated API call,
    watch and log read goes through, so retries and reconnects are counted as well.
    """

    def __init__(self, api_client):
        self.count = 0
        self._lock = threading.Lock()
        rest = api_client.rest_client
        original = rest.request

        def counted_request(*args, **kwargs):
            with self._lock:
                self.count += 1
            return original(*args, **kwargs)

        rest.request = counted_request


def get_api_client(kubeconfig=None, context=None, environ=None, retries=1, **find_kwargs):
    """Return ``(api_client, counter)`` for the configured cluster.

    ``retries`` bounds urllib3's own connection retries, so that an unreachable server is
    reported after at most ``(retries + 1) * CONNECT_TIMEOUT`` seconds (callers pass
    ``(CONNECT_TIMEOUT, read timeout)`` as ``_request_timeout``). Raises :class:`K8sClientError`
    with a user-facing message when no configuration is found or it cannot be loaded (bad file,
    unknown context).
    """
    if not HAS_KUBERNETES:
        raise K8sClientError('the kubernetes Python library is not installed')
    kind, path = find_kubeconfig(kubeconfig, environ=environ, **find_kwargs)
    configuration = type.__call__(k8s_client.Configuration)
    try:
        if kind == 'incluster':
            k8s_config.load_incluster_config(client_configuration=configuration)
        else:
            k8s_config.load_kube_config(config_file=path, context=context,
                                        client_configuration=configuration, persist_config=False)
    except ConfigException as exc:
        where = 'in-cluster configuration' if kind == 'incluster' else 'kubeconfig %s' % path
        if context:
            where += ' (context %s)' % context
        raise K8sClientError('cannot load %s: %s' % (where, exc))
    except (IOError, OSError, ValueError, TypeError) as exc:
        raise K8sClientError('cannot load kubeconfig %s: %s' % (path, exc))
    configuration.retries = retries
    api_client = k8s_client.ApiClient(configuration=configuration)
    return api_client, RequestCounter(api_client)


def api_host(api_client):
    return getattr(getattr(api_client, 'configuration', None), 'host', None) or 'the API server'


def _status_message(exc):
    """The ``message`` of a Kubernetes Status body, else the exception's reason."""
    import json
    body = getattr(exc, 'body', None)
    if isinstance(body, bytes):
        body = body.decode('utf-8', 'replace')
    if body:
        try:
            data = json.loads(body)
            if isinstance(data, dict) and data.get('message'):
                return data['message']
        except ValueError:
            pass
    return (getattr(exc, 'reason', None) or str(exc) or '').strip()


def describe_api_error(exc, host):
    """One readable line for an error from the kubernetes client talking to ``host``."""
    status = getattr(exc, 'status', None)
    if isinstance(status, int) and status > 0:
        if status == 401:
            return ('the Kubernetes API server at %s rejected the credentials (401 Unauthorized): %s'
                    % (host, _status_message(exc)))
        if status == 403:
            return 'forbidden by the Kubernetes API server at %s (403): %s' % (host, _status_message(exc))
        return 'Kubernetes API error from %s: %s %s' % (host, status, _status_message(exc))
    if isinstance(status, int):  # status 0: TLS and request preparation errors
        return 'cannot talk to the Kubernetes API server at %s: %s' % (host, _status_message(exc).replace('\n', ': '))
    if isinstance(exc, ValueError):
        return 'unexpected answer from the Kubernetes API server at %s: %s' % (host, exc)
    reason = getattr(exc, 'reason', None)
    text = str(reason if reason is not None else exc).strip()
    # urllib3 puts the connection object's repr in front: "<...HTTPSConnection object at 0x..>: Failed ..."
    text = re.sub(r'<[^<>]* object at 0x[0-9a-f]+>: ', '', text)
    text = re.sub(r'^HTTPS?Connection(Pool)?\(host=[^)]*\): ', '', text)
    return 'cannot reach the Kubernetes API server at %s: %s' % (host, text or type(exc).__name__)
