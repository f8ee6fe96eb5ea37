# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Unit tests for the pods_ready module's main loop against a scripted fake API (no cluster)."""

import json
import threading
import time
from unittest import mock

import pytest
from kubernetes.client.rest import ApiException

from ansible.module_utils.testing import patch_module_args

from ansible_collections.kaapana.platform.plugins.modules import pods_ready as M
from tests.unit.plugins.module_utils.pod_fixtures import job, job_pod, pod


class ApiError(ApiException):
    def __init__(self, status, reason=''):
        super(ApiError, self).__init__(status=status, reason=reason)


class Data:
    def __init__(self, obj):
        self.data = obj if isinstance(obj, bytes) else json.dumps(obj).encode('utf-8')

    def release_conn(self):
        pass


class Stream:
    """Watch response: (delay seconds, event dict) items, then hangs until closed."""

    def __init__(self, items):
        self.items = items
        self.closed = threading.Event()

    def stream(self, **kwargs):
        for delay, event in self.items:
            if delay and self.closed.wait(delay):
                return
            if isinstance(event, Exception):
                raise event
            yield (json.dumps(event) + '\n').encode('utf-8')
        self.closed.wait(10)

    def close(self):
        self.closed.set()

    def release_conn(self):
        pass

    def shutdown(self):
        self.closed.set()


class Counter:
    count = 0


class FakeCore:
    """CoreV1Api stand-in: one scripted list result per scope and scripted watch streams."""

    def __init__(self, lists, watches=None, namespaces=('ns',), events=None, logs=None):
        self.lists = {k: list(v) for k, v in lists.items()}
        self.watches = {k: list(v) for k, v in (watches or {}).items()}
        self.namespaces = namespaces
        self.events = events or []
        self.logs = logs
        self.calls = []
        self.counter = Counter()

    def _count(self, what):
        self.calls.append(what)
        self.counter.count += 1

    def list_namespace(self, **kw):
        self._count(('namespaces',))
        if isinstance(self.namespaces, Exception):
            raise self.namespaces
        return Data({'items': [{'metadata': {'name': n}} for n in self.namespaces]})

    def _pods(self, scope, kw):
        if kw.get('watch'):
            self._count(('watch', scope, kw.get('resource_version')))
            script = self.watches.get(scope) or []
            item = script.pop(0) if script else Stream([])
            if isinstance(item, Exception):
                raise item
            return item
        self._count(('list', scope))
        item = self.lists[scope].pop(0)
        if isinstance(item, Exception):
            raise item
        rv, items = item
        return Data({'metadata': {'resourceVersion': rv}, 'items': items})

    def list_namespaced_pod(self, namespace, **kw):
        return self._pods(namespace, kw)

    def list_pod_for_all_namespaces(self, **kw):
        return self._pods(None, kw)

    def list_namespaced_event(self, namespace, **kw):
        self._count(('events', namespace, kw.get('field_selector')))
        return Data({'items': self.events})

    def read_namespaced_pod_log(self, name, namespace, **kw):
        self._count(('logs', namespace, name, kw.get('container'), kw.get('previous')))
        if isinstance(self.logs, Exception):
            raise self.logs
        return Data((self.logs or '').encode('utf-8'))


class FakeBatch:
    def __init__(self, core, jobs=None):
        self.core = core
        self.jobs = jobs or {}

    def read_namespaced_job(self, name, namespace, **kw):
        self.core._count(('job', namespace, name))
        j = self.jobs.get((namespace, name))
        if j is None:
            raise ApiError(404, 'Not Found')
        return Data(j)


def run(args, core, batch=None, expect_fail=False, storage=None):
    """Run the module's main() with the fake API; return its result dict."""
    results = {}

    def connect(self):
        self.core = core
        self.batch = batch or FakeBatch(core)
        self.storage = storage
        self.counter = core.counter
        self.host = 'https://fake:6443'

    def exit_json(self, **kw):
        results.update(kw)
        results['failed'] = False
        raise SystemExit(0)

    def fail_json(self, **kw):
        results.update(kw)
        results['failed'] = True
        raise SystemExit(1)

    with patch_module_args(args), \
            mock.patch.object(M.PodsReady, 'connect', connect), \
            mock.patch.object(M.AnsibleModule, 'exit_json', exit_json), \
            mock.patch.object(M.AnsibleModule, 'fail_json', fail_json), \
            mock.patch.object(M.AnsibleModule, 'log', lambda self, msg, log_args=None: None):
        with pytest.raises(SystemExit):
            M.main()
    assert results['failed'] is expect_fail, results.get('msg')
    return results


def wev(etype, obj):
    return {'type': etype, 'object': obj}


def pending(name, ns='ns', **kw):
    return pod(name=name, namespace=ns, phase='Pending', ready=False, **kw)


def test_all_ready_at_list_time_returns_without_watching():
    core = FakeCore({'ns': [('5', [pod('a'), pod('b'), job_pod('j')])]})
    res = run({'namespaces': ['ns']}, core)
    assert res['ready'] == 3 and res['total'] == 3
    assert res['pods']['ns']['Succeeded'] == 1
    assert res['api_requests'] == 2
    assert res['namespaces'] == ['ns']
    assert res['msg'].startswith('3/3 pods ready in 1 namespace after')
    assert res['changed'] is False


def test_returns_when_the_last_pod_turns_ready_through_the_watch():
    core = FakeCore({'ns': [('5', [pod('a'), pending('b')])]},
                    watches={'ns': [Stream([(0.05, wev('MODIFIED', pending('b', waiting=('ContainerCreating', '')))),
                                            (0.05, wev('MODIFIED', pod('b')))])]})
    res = run({'namespaces': ['ns'], 'timeout': 20}, core)
    assert res['ready'] == 2 and res['not_ready'] == []
    assert ('watch', 'ns', '5') in core.calls
    assert res['api_requests'] == 3
    assert res['elapsed'] < 5


def test_glob_uses_one_cluster_wide_list_and_watch():
    core = FakeCore({None: [('5', [pod('a', 'project-1'), pending('b', 'project-2'), pending('x', 'other')])]},
                    watches={None: [Stream([(0.05, wev('MODIFIED', pod('b', 'project-2')))])]},
                    namespaces=('project-1', 'project-2', 'other'))
    res = run({'namespaces': ['project-*']}, core)
    assert res['namespaces'] == ['project-1', 'project-2']
    assert res['total'] == 2
    assert [c[0] for c in core.calls] == ['namespaces', 'list', 'watch']


def test_image_pull_backoff_fails_fast_with_events_and_no_logs():
    bad = pending('web', waiting=('ImagePullBackOff', 'Back-off pulling image "nope:1"'))
    core = FakeCore({'ns': [('5', [pod('a'), bad])]},
                    events=[{'type': 'Warning', 'reason': 'Failed', 'message': 'Failed to pull image "nope:1"',
                             'lastTimestamp': '2026-01-01T00:00:03Z', 'count': 2}])
    res = run({'namespaces': ['ns'], 'image_pull_grace': 0, 'timeout': 300}, core, expect_fail=True)
    assert 'ns/web container app: ImagePullBackOff: Back-off pulling image "nope:1"' in res['msg']
    assert 'Warning Failed: Failed to pull image "nope:1" (x2)' in res['msg']
    assert res['failed_pods'][0]['name'] == 'web' and res['failed_pods'][0]['reason'] == 'ImagePullBackOff'
    assert not [c for c in core.calls if c[0] == 'logs']  # the container never ran
    assert res['elapsed'] < 5
    assert res['not_ready'][0]['fatal'] is True


def test_crash_loop_fails_after_grace_with_previous_logs():
    crashing = pod('c', ready=False, restart_count=5, waiting=('CrashLoopBackOff', 'back-off'))
    core = FakeCore({'ns': [('5', [pending('c')])]},
                    watches={'ns': [Stream([(0.05, wev('MODIFIED', crashing))])]},
                    logs='starting\nERROR: cannot connect to db\n')
    t0 = time.time()
    res = run({'namespaces': ['ns'], 'crash_loop_grace': 1, 'timeout': 60}, core, expect_fail=True)
    assert 1 <= time.time() - t0 < 10
    assert 'CrashLoopBackOff' in res['msg'] and '| ERROR: cannot connect to db' in res['msg']
    assert ('logs', 'ns', 'c', 'app', True) in core.calls
    assert res['failed_pods'][0]['logs'] == ['starting', 'ERROR: cannot connect to db']


def test_log_errors_are_reported_not_fatal():
    core = FakeCore({'ns': [('5', [pod('c', ready=False, restart_count=1, waiting=('CrashLoopBackOff', 'x'))])]},
                    logs=ApiError(500, 'dial tcp 10.0.0.1:10250: connect: connection refused'))
    res = run({'namespaces': ['ns'], 'crash_loop_grace': 0}, core, expect_fail=True)
    assert 'logs: not available (Kubernetes API error from https://fake:6443: 500' in res['msg']


def test_timeout_zero_checks_once():
    core = FakeCore({'ns': [('5', [pod('a'), pending('b')])]})
    res = run({'namespaces': ['ns'], 'timeout': 0}, core, expect_fail=True)
    assert res['msg'].startswith('timed out after 0s: 1/2 pods ready after 0s; waiting on ns 1/2')
    assert 'ns/b container app: ContainerCreating' in res['msg']
    assert not [c for c in core.calls if c[0] == 'watch']


def test_timeout_lists_what_is_not_ready():
    core = FakeCore({'ns': [('5', [pending('b')])]})
    res = run({'namespaces': ['ns'], 'timeout': 1}, core, expect_fail=True)
    assert res['msg'].startswith('timed out after 1s')
    assert res['not_ready'][0]['name'] == 'b'
    assert 1 <= res['elapsed'] < 5


def test_410_during_the_wait_lists_again():
    core = FakeCore({'ns': [('5', [pending('b')]), ('9', [pod('b')])]},
                    watches={'ns': [Stream([(0.05, {'type': 'ERROR', 'object': {'code': 410, 'message': 'gone'}})])]})
    res = run({'namespaces': ['ns']}, core)
    assert res['relists'] == 1 and res['ready'] == 1
    # (the watcher may already have opened its next watch when the module returns)
    assert [c[0] for c in core.calls][:4] == ['namespaces', 'list', 'watch', 'list']


def test_dropped_watch_reconnects_from_last_resource_version():
    b1 = pending('b')
    b1['metadata']['resourceVersion'] = '7'
    core = FakeCore({'ns': [('5', [pending('b')])]},
                    watches={'ns': [Stream([(0, wev('MODIFIED', b1)), (0.05, ConnectionResetError('reset'))]),
                                    ApiError(503, 'Service Unavailable'),
                                    Stream([(0.05, wev('MODIFIED', pod('b')))])]})
    res = run({'namespaces': ['ns']}, core)
    assert res['reconnects'] == 2
    watches = [c for c in core.calls if c[0] == 'watch']
    assert watches == [('watch', 'ns', '5'), ('watch', 'ns', '7'), ('watch', 'ns', '7')]


def test_forbidden_watch_fails():
    core = FakeCore({'ns': [('5', [pending('b')])]}, watches={'ns': [ApiError(403, 'Forbidden')]})
    res = run({'namespaces': ['ns']}, core, expect_fail=True)
    assert res['msg'].startswith('watching pods failed: forbidden by the Kubernetes API server at https://fake:6443')


def test_unreachable_at_start_fails_before_waiting(monkeypatch):
    slept = []
    monkeypatch.setattr(M.time, 'sleep', slept.append)
    core = FakeCore({'ns': []}, namespaces=OSError('Connection refused'))
    res = run({'namespaces': ['ns'], 'timeout': 300}, core, expect_fail=True)
    assert res['msg'] == 'cannot reach the Kubernetes API server at https://fake:6443: Connection refused'
    # a few seconds of retries (the API server may be restarting), then the error; no waiting for the timeout
    assert slept == [1, 2, 4, 8, 15, 15, 15] and core.calls == [('namespaces',)] * 8


def test_unreachable_at_start_retries_no_longer_than_the_timeout(monkeypatch):
    slept = []
    monkeypatch.setattr(M.time, 'sleep', slept.append)
    core = FakeCore({'ns': []}, namespaces=OSError('Connection refused'))
    res = run({'namespaces': ['ns'], 'timeout': 0}, core, expect_fail=True)
    assert res['msg'].startswith('cannot reach the Kubernetes API server') and slept == []


class FlakyNamespaces(FakeCore):
    """An API server that refuses the first connections (restarting) and then answers."""

    def __init__(self, failures, *args, **kw):
        super(FlakyNamespaces, self).__init__(*args, **kw)
        self.failures = failures

    def list_namespace(self, **kw):
        if self.failures:
            self.failures -= 1
            self._count(('namespaces',))
            raise OSError('Connection refused')
        return super(FlakyNamespaces, self).list_namespace(**kw)


def test_api_server_restarting_at_start_is_waited_for(monkeypatch):
    slept = []
    monkeypatch.setattr(M.time, 'sleep', slept.append)
    core = FlakyNamespaces(2, {'ns': [('5', [pod('a')])]})
    res = run({'namespaces': ['ns'], 'timeout': 300}, core)
    assert res['ready'] == 1 and slept == [1, 2]


def test_http_errors_at_start_are_not_retried(monkeypatch):
    slept = []
    monkeypatch.setattr(M.time, 'sleep', slept.append)
    core = FakeCore({'ns': [ApiError(401, 'Unauthorized')]})
    res = run({'namespaces': ['ns'], 'timeout': 300}, core, expect_fail=True)
    assert res['msg'].startswith('watching pods failed') or 'https://fake:6443' in res['msg']
    assert slept == []


def test_namespace_list_forbidden_is_tolerated_and_missing_namespace_warned():
    core = FakeCore({'ns': [('5', [pod('a')])], 'gone': [('5', [])]}, namespaces=ApiError(403, 'Forbidden'))
    res = run({'namespaces': ['ns', 'gone']}, core)
    assert res['namespaces'] == ['ns']
    core = FakeCore({'ns': [('5', [pod('a')])], 'gone': [('5', [])]})
    with mock.patch.object(M.AnsibleModule, 'warn') as warn:
        run({'namespaces': ['ns', 'gone']}, core)
    assert 'namespace gone does not exist (yet)' in warn.call_args[0][0]


def test_min_pods_catches_an_empty_namespace():
    core = FakeCore({'empty': [('5', [])]}, namespaces=('empty',))
    res = run({'namespaces': ['empty'], 'min_pods': 1, 'settle': 1, 'timeout': 30}, core, expect_fail=True)
    assert res['msg'] == 'found 0 matching pods in namespaces empty, fewer than min_pods=1'
    assert res['elapsed'] < 5
    core = FakeCore({'empty': [('5', [])]}, namespaces=('empty',))
    res = run({'namespaces': ['empty'], 'min_pods': 1, 'timeout': 1}, core, expect_fail=True)
    assert res['msg'] == 'timed out after 1s: found 0 matching pods in namespaces empty, fewer than min_pods=1'


def test_absent_waits_for_deletions():
    a, b = pod('a'), pod('b', deleting=True)
    core = FakeCore({'ns': [('5', [a, b])]},
                    watches={'ns': [Stream([(0.05, wev('DELETED', a)), (0.05, wev('DELETED', b))])]})
    res = run({'namespaces': ['ns'], 'state': 'absent'}, core)
    assert res['msg'].startswith('no matching pods left after')
    assert res['total'] == 0 and res['ready'] == 0


def test_failed_job_pod_with_exhausted_job_fails():
    core = FakeCore({'ns': [('5', [job_pod('j-1', phase='Failed', job='j')])]})
    batch = FakeBatch(core, {('ns', 'j'): job('j', failed=1, backoff=0)})
    res = run({'namespaces': ['ns']}, core, batch, expect_fail=True)
    assert 'ns/j-1' in res['msg'] and 'BackoffLimitExceeded' in res['msg']


def test_failed_job_pod_with_retries_left_waits_for_the_next_pod():
    core = FakeCore({'ns': [('5', [job_pod('j-1', phase='Failed', job='j')])]},
                    watches={'ns': [Stream([(0.05, wev('ADDED', job_pod('j-2', job='j')))])]})
    jobs = {('ns', 'j'): job('j', failed=1, backoff=3)}
    batch = FakeBatch(core, jobs)
    with mock.patch.object(M, 'JOB_RECHECK', 0.2):
        def complete():
            time.sleep(0.1)
            jobs[('ns', 'j')] = job('j', failed=1, conditions=[{'type': 'Complete', 'status': 'True'}])
        threading.Thread(target=complete).start()
        res = run({'namespaces': ['ns'], 'timeout': 20}, core, batch)
    assert res['ready'] == 1 and res['total'] == 1
    assert len([c for c in core.calls if c[0] == 'job']) >= 2


def test_progress_file(tmp_path):
    path = tmp_path / 'progress.json'
    core = FakeCore({'ns': [('5', [pod('a'), pending('b')])]},
                    watches={'ns': [Stream([(0.2, wev('MODIFIED', pod('b')))])]})
    seen = []

    def watch_file():
        for dummy in range(300):
            data = json.loads(path.read_text())
            if data['line'] != 'stale file of an earlier run':
                if not seen or seen[-1] != data:
                    seen.append(data)
                if data['finished']:
                    return
            time.sleep(0.01)

    at_connect = []
    list_namespace = core.list_namespace

    def list_namespace_spy(**kw):
        at_connect.append(json.loads(path.read_text()))
        return list_namespace(**kw)

    core.list_namespace = list_namespace_spy
    path.write_text(json.dumps({'finished': True, 'line': 'stale file of an earlier run'}))
    watcher = threading.Thread(target=watch_file)
    watcher.start()
    run({'namespaces': ['ns'], 'progress_file': str(path)}, core)
    watcher.join()
    # replaced before the first API request, so a status loop never reads the stale "finished"
    assert at_connect[0]['line'] == 'connecting to the Kubernetes API' and at_connect[0]['finished'] is False
    waiting = [d for d in seen if d['line'].startswith('1/2 pods ready after')]
    assert waiting and waiting[0]['lagging'] == ['ns 1/2'] and waiting[0]['finished'] is False
    final = json.loads(path.read_text())
    assert final['finished'] is True and final['failed'] is False and final['ready'] == 2
    assert final['line'].startswith('2/2 pods ready in 1 namespace')


def test_progress_file_on_failure(tmp_path):
    path = tmp_path / 'p.json'
    core = FakeCore({'ns': [('5', [pending('b')])]})
    run({'namespaces': ['ns'], 'timeout': 0, 'progress_file': str(path)}, core, expect_fail=True)
    final = json.loads(path.read_text())
    assert final['finished'] is True and final['failed'] is True and final['line'].startswith('timed out')


@pytest.mark.parametrize('args, fragment', [
    ({'namespaces': ['project-[']}, 'unbalanced "["'),
    ({'timeout': -1}, 'timeout must be 0 or more'),
    ({'settle': 10, 'timeout': 5}, 'settle (10) must not exceed timeout (5)'),
    ({'state': 'absent', 'min_pods': 1}, 'min_pods cannot be used with state=absent'),
    ({'progress_file': '/nonexistent/dir/p.json'}, 'progress_file: directory /nonexistent/dir does not exist'),
    ({'image_pull_grace': -5}, 'image_pull_grace must be 0 or more'),
])
def test_bad_input_fails_before_connecting(args, fragment):
    core = FakeCore({})
    res = run(args, core, expect_fail=True)
    assert fragment in res['msg'] and res['msg'].startswith('invalid parameters:')
    assert core.calls == []


def test_check_mode_runs_read_only():
    core = FakeCore({'ns': [('5', [pod('a')])]})
    res = run({'namespaces': ['ns'], '_ansible_check_mode': True}, core)
    assert res['ready'] == 1 and res['changed'] is False


def test_no_kubeconfig_message(tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path))
    monkeypatch.delenv('KUBECONFIG', raising=False)
    monkeypatch.delenv('K8S_AUTH_KUBECONFIG', raising=False)
    monkeypatch.delenv('KUBERNETES_SERVICE_HOST', raising=False)
    monkeypatch.setattr('ansible_collections.kaapana.platform.plugins.module_utils.k8s_client.MICROK8S_KUBECONFIG',
                        str(tmp_path / 'none'))
    results = {}

    def fail_json(self, **kw):
        results.update(kw)
        raise SystemExit(1)

    progress = tmp_path / 'progress.json'
    with patch_module_args({'progress_file': str(progress)}), mock.patch.object(M.AnsibleModule, 'fail_json', fail_json):
        with pytest.raises(SystemExit):
            M.main()
    assert results['msg'].startswith('no kubeconfig found: set the kubeconfig option or the K8S_AUTH_KUBECONFIG')
    assert results['api_requests'] == 0
    final = json.loads(progress.read_text())
    assert final['finished'] is True and final['failed'] is True and final['line'].startswith('no kubeconfig found')


def test_unexpected_error_still_finishes_the_progress_file(tmp_path):
    progress = tmp_path / 'progress.json'
    core = FakeCore({'ns': [('5', [pod('a')])]})
    core.list_namespace = mock.Mock(side_effect=RuntimeError('boom'))
    with mock.patch.object(M.PodsReady, 'list_namespaces', side_effect=KeyError('bug')):
        with pytest.raises(KeyError):
            run({'namespaces': ['ns'], 'progress_file': str(progress)}, core)
    final = json.loads(progress.read_text())
    assert final['finished'] is True and final['failed'] is True and 'bug' in final['line']


class FakeStorage:
    """StorageV1Api stand-in: StorageClasses and CSIDrivers by name."""

    def __init__(self, core, classes=None, drivers=()):
        self.core = core
        self.classes = classes or {}
        self.drivers = drivers

    def read_storage_class(self, name, **kw):
        self.core._count(('storageclass', name))
        if name not in self.classes:
            raise ApiError(404, 'Not Found')
        return Data({'metadata': {'name': name}, 'provisioner': self.classes[name]})

    def read_csi_driver(self, name, **kw):
        self.core._count(('csidriver', name))
        if name not in self.drivers:
            raise ApiError(404, 'Not Found')
        return Data({'metadata': {'name': name}})


def _claim_pod(name, claim):
    p = pending(name, unschedulable='0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.')
    p['spec']['volumes'] = [{'name': 'data', 'persistentVolumeClaim': {'claimName': claim}}]
    return p


def _run_with_storage(core, storage, args):
    return run(args, core, expect_fail=True, storage=storage)


@pytest.mark.parametrize('classes,drivers,expected', [
    ({}, (), 'storage: PVC ns/data-pvc: StorageClass kaapana-hostpath-fast-data-dir does not exist: Kaapana 0.6.1+ '
             'installs it with the kaapana-storageclass release'),
    ({'kaapana-hostpath-fast-data-dir': 'driver.longhorn.io'}, (),
     'storage: PVC ns/data-pvc: StorageClass kaapana-hostpath-fast-data-dir has no provisioner: its CSI driver '
     'driver.longhorn.io is not installed (no CSIDriver driver.longhorn.io)'),
])
def test_an_unbound_claim_names_the_missing_class_or_provisioner(classes, drivers, expected):
    core = FakeCore({'ns': [('5', [_claim_pod('db', 'data-pvc')])]})
    core.read_namespaced_persistent_volume_claim = lambda name, ns, **kw: Data(
        {'metadata': {'name': name}, 'spec': {'storageClassName': 'kaapana-hostpath-fast-data-dir'},
         'status': {'phase': 'Pending'}})
    res = _run_with_storage(core, FakeStorage(core, classes, drivers), {'namespaces': ['ns'], 'timeout': 0})
    assert expected in res['msg']
    assert res['failed_pods'][0]['storage'][0].startswith(expected[len('storage: '):])


def test_a_bound_claim_of_an_existing_hostpath_class_adds_nothing():
    core = FakeCore({'ns': [('5', [_claim_pod('db', 'data-pvc')])]})
    core.read_namespaced_persistent_volume_claim = lambda name, ns, **kw: Data(
        {'metadata': {'name': name}, 'spec': {'storageClassName': 'x'}, 'status': {'phase': 'Bound'}})
    res = _run_with_storage(core, FakeStorage(core), {'namespaces': ['ns'], 'timeout': 0})
    assert 'storage:' not in res['msg'] and res['failed_pods'][0]['storage'] == []
    assert not [c for c in core.calls if c[0] == 'storageclass']
