# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""kaapana.platform.pods_ready against the lab (real kube-apiserver, controllers, KWOK pods).

Each test runs the module through real Ansible (ansible-playbook with the json callback) in
namespaces of its own, deleted afterwards. KWOK makes pods Ready at once unless annotated:
``kwok.test/ready-after: "<s>"`` delays readiness, ``kwok.test/fault`` selects ImagePullBackOff,
CrashLoopBackOff or Failed.
"""

import json
import os
import socket
import subprocess
import sys
import time
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
IMAGE = 'registry.invalid/kaapana/app:1'


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------

def base_env(lab=None):
    env = lab.env() if lab is not None else dict(os.environ)
    env.update({
        'ANSIBLE_CONFIG': os.path.join(ROOT, 'ansible.cfg'),
        'ANSIBLE_COLLECTIONS_PATH': os.path.join(ROOT, '.build', 'collections'),
        'ANSIBLE_STDOUT_CALLBACK': 'json',
        'ANSIBLE_LOCALHOST_WARNING': 'False',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'False',
        'ANSIBLE_RETRY_FILES_ENABLED': 'False',
    })
    if lab is not None:
        env['K8S_AUTH_KUBECONFIG'] = lab.kubeconfig
    return env


def write_playbook(tmp_path, tasks, name='play.yml'):
    play = [{'name': 'pods_ready test', 'hosts': 'localhost', 'connection': 'local', 'gather_facts': False,
             'vars': {'ansible_python_interpreter': sys.executable}, 'tasks': tasks}]
    path = tmp_path / name
    path.write_text(json.dumps(play, indent=1))  # JSON is YAML
    return str(path)


def playbook_cmd(path):
    return [PLAYBOOK_BIN, '-i', 'localhost,', path]


def task_results(stdout):
    """Per-task results of localhost from the json callback's output."""
    data = json.loads(stdout[stdout.index('{'):])
    return [t['hosts']['localhost'] for t in data['plays'][0]['tasks']]


def run_module(lab, tmp_path, args, timeout=300):
    """Run one pods_ready task; return (result dict, wall seconds)."""
    path = write_playbook(tmp_path, [{'name': 'wait', 'kaapana.platform.pods_ready': args}])
    start = time.monotonic()
    proc = subprocess.run(playbook_cmd(path), env=base_env(lab), capture_output=True, text=True, timeout=timeout,
                          check=False)
    wall = time.monotonic() - start
    assert proc.stdout.strip(), proc.stderr
    return task_results(proc.stdout)[0], wall


def start_module(lab, tmp_path, args):
    path = write_playbook(tmp_path, [{'name': 'wait', 'kaapana.platform.pods_ready': args}])
    return subprocess.Popen(playbook_cmd(path), env=base_env(lab), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finish_module(proc, timeout=300):
    out, err = proc.communicate(timeout=timeout)
    assert out.strip(), err
    return task_results(out)[0]


def apply(lab, *objects):
    lab.kubectl_run('apply', '-f', '-', input_text=json.dumps({'apiVersion': 'v1', 'kind': 'List',
                                                               'items': list(objects)}))


def pod_template(app, annotations=None, restart='Always'):
    return {'metadata': {'labels': {'app': app}, 'annotations': dict(annotations or {})},
            'spec': {'restartPolicy': restart, 'terminationGracePeriodSeconds': 0,
                     'containers': [{'name': 'main', 'image': IMAGE}]}}


def deployment(name, ns, replicas, annotations=None):
    return {'apiVersion': 'apps/v1', 'kind': 'Deployment', 'metadata': {'name': name, 'namespace': ns},
            'spec': {'replicas': replicas, 'selector': {'matchLabels': {'app': name}},
                     'template': pod_template(name, annotations)}}


def bare_pod(name, ns, annotations=None):
    tpl = pod_template(name, annotations)
    tpl['metadata'].update({'name': name, 'namespace': ns})
    return dict(apiVersion='v1', kind='Pod', **tpl)


def job(name, ns, completions=1, backoff=6, annotations=None):
    return {'apiVersion': 'batch/v1', 'kind': 'Job', 'metadata': {'name': name, 'namespace': ns},
            'spec': {'completions': completions, 'parallelism': completions, 'backoffLimit': backoff,
                     'template': pod_template(name, annotations, restart='Never')}}


def pods_json(lab, ns):
    return json.loads(lab.kubectl_run('-n', ns, 'get', 'pods', '-o', 'json').stdout)['items']


def is_ready(pod):
    conds = {c['type']: c['status'] for c in pod['status'].get('conditions') or []}
    return pod['status'].get('phase') == 'Running' and conds.get('Ready') == 'True'


@pytest.fixture
def namespaces(lab):
    """namespaces(n, prefix) -> list of fresh namespace names; all deleted after the test."""
    made = []

    def make(count=1, prefix='pr'):
        tag = uuid.uuid4().hex[:6]
        names = ['%s-%s-%d' % (prefix, tag, i) for i in range(count)]
        for name in names:
            lab.kubectl_run('create', 'namespace', name)
            made.append(name)
        return names

    yield make
    for name in made:
        lab.kubectl_run('delete', 'namespace', name, '--wait=false', '--ignore-not-found', check=False)


# --------------------------------------------------------------------------------------
# Without the lab: bad input fails before any waiting, through real Ansible
# --------------------------------------------------------------------------------------

def test_bad_input_fails_before_waiting(tmp_path):
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    kubeconfig = tmp_path / 'kubeconfig'
    kubeconfig.write_text(json.dumps({
        'apiVersion': 'v1', 'kind': 'Config', 'current-context': 'x',
        'clusters': [{'name': 'x', 'cluster': {'server': 'https://127.0.0.1:%d' % port,
                                               'insecure-skip-tls-verify': True}}],
        'users': [{'name': 'x', 'user': {'token': 't'}}],
        'contexts': [{'name': 'x', 'context': {'cluster': 'x', 'user': 'x'}}]}))
    tasks = [
        {'name': 'bad pattern', 'kaapana.platform.pods_ready': {'namespaces': ['project-['], 'timeout': 600},
         'ignore_errors': True},
        {'name': 'negative timeout', 'kaapana.platform.pods_ready': {'timeout': -1}, 'ignore_errors': True},
        {'name': 'unreachable', 'kaapana.platform.pods_ready': {'kubeconfig': str(kubeconfig), 'timeout': 600},
         'ignore_errors': True},
        {'name': 'no kubeconfig', 'kaapana.platform.pods_ready': {'timeout': 600}, 'ignore_errors': True},
    ]
    env = base_env()
    for var in ('KUBECONFIG', 'K8S_AUTH_KUBECONFIG', 'K8S_AUTH_CONTEXT', 'KUBERNETES_SERVICE_HOST'):
        env.pop(var, None)
    env['HOME'] = str(tmp_path)  # no ~/.kube/config
    start = time.monotonic()
    proc = subprocess.run(playbook_cmd(write_playbook(tmp_path, tasks)), env=env, capture_output=True, text=True,
                          check=False, timeout=300)
    assert time.monotonic() - start < 120
    pattern, negative, unreachable, nothing = task_results(proc.stdout)
    assert pattern['failed'] and 'unbalanced "["' in pattern['msg']
    assert negative['failed'] and 'timeout must be 0 or more' in negative['msg']
    assert unreachable['failed']
    assert unreachable['msg'].startswith('cannot reach the Kubernetes API server at https://127.0.0.1:%d' % port)
    assert nothing['failed']
    if not os.path.exists('/var/snap/microk8s/current/credentials/client.config'):
        assert nothing['msg'].startswith('no kubeconfig found: set the kubeconfig option or the K8S_AUTH_KUBECONFIG')


# --------------------------------------------------------------------------------------
# Against the lab
# --------------------------------------------------------------------------------------

@pytest.mark.lab
def test_200_pods_in_4_namespaces_return_once_the_last_is_ready(lab, tmp_path, namespaces):
    names = namespaces(4, prefix='pr-many')
    objs = []
    for i, ns in enumerate(names):
        objs.append(deployment('fast', ns, 40))
        # the late pods of namespace i turn Ready 10 + 5 * i seconds after scheduling
        objs.append(deployment('late', ns, 10, annotations={'kwok.test/ready-after': str(10 + 5 * i)}))
    apply(lab, *objs)
    pattern = names[0].rsplit('-', 1)[0] + '-*'
    res, wall = run_module(lab, tmp_path, {'namespaces': [pattern], 'min_pods': 200, 'timeout': 240})
    assert not res.get('failed'), res['msg']
    assert (res['ready'], res['total']) == (200, 200)
    assert sorted(res['namespaces']) == sorted(names)
    for ns in names:
        assert res['pods'][ns]['total'] == 50 and res['pods'][ns]['ready'] == 50
        assert res['pods'][ns]['Running'] == 50
    assert res['not_ready'] == []
    # the slowest pods are the late ones of the last namespace
    assert res['slowest'][0]['namespace'] == names[3] and res['slowest'][0]['seconds'] >= 20
    assert res['elapsed'] >= 20
    # when it returned, every pod really was Ready
    for ns in names:
        pods = pods_json(lab, ns)
        assert len(pods) == 50 and all(is_ready(p) for p in pods)
    # list + watch (+ namespace list), not one request per pod or per poll
    assert res['api_requests'] <= 10, res['api_requests']


@pytest.mark.lab
def test_job_pods_count_as_done_when_succeeded(lab, tmp_path, namespaces):
    (ns,) = namespaces(1, prefix='pr-job')
    apply(lab, deployment('web', ns, 2), job('migrate', ns, completions=3))
    res, wall = run_module(lab, tmp_path, {'namespaces': [ns], 'min_pods': 5, 'timeout': 120})
    assert not res.get('failed'), res['msg']
    assert (res['ready'], res['total']) == (5, 5)
    assert res['pods'][ns]['Succeeded'] == 3 and res['pods'][ns]['Running'] == 2
    assert {s['state'] for s in res['slowest']} <= {'ready', 'succeeded'}


@pytest.mark.lab
def test_image_pull_backoff_fails_fast_naming_pod_and_reason(lab, tmp_path, namespaces):
    (ns,) = namespaces(1, prefix='pr-pull')
    apply(lab, deployment('web', ns, 3), bare_pod('broken-image', ns, {'kwok.test/fault': 'ImagePullBackOff'}))
    res, wall = run_module(lab, tmp_path, {'namespaces': [ns], 'min_pods': 4, 'timeout': 300,
                                           'image_pull_grace': 5})
    assert res['failed']
    assert wall < 90 and res['elapsed'] < 60
    assert '%s/broken-image container main: ImagePullBackOff' % ns in res['msg']
    assert res['failed_pods'][0]['name'] == 'broken-image'
    assert res['failed_pods'][0]['reason'] == 'ImagePullBackOff'
    assert res['pods'][ns]['ready'] == 3


@pytest.mark.lab
def test_crash_loop_fails_fast_naming_pod_and_reason(lab, tmp_path, namespaces):
    (ns,) = namespaces(1, prefix='pr-crash')
    apply(lab, deployment('web', ns, 2), bare_pod('crasher', ns, {'kwok.test/fault': 'CrashLoopBackOff'}))
    res, wall = run_module(lab, tmp_path, {'namespaces': [ns], 'min_pods': 3, 'timeout': 300,
                                           'crash_loop_grace': 5})
    assert res['failed']
    assert wall < 90 and res['elapsed'] < 60
    assert '%s/crasher container main: CrashLoopBackOff' % ns in res['msg']
    assert 'exit code 1' in res['msg']
    # the lab has no kubelet to serve logs: the failure says so instead of hanging
    assert 'logs:' in res['msg'] or 'last log lines' in res['msg']


@pytest.mark.lab
def test_failed_job_that_gave_up_fails_fast(lab, tmp_path, namespaces):
    (ns,) = namespaces(1, prefix='pr-jobfail')
    apply(lab, job('doomed', ns, backoff=0, annotations={'kwok.test/fault': 'Failed'}))
    res, wall = run_module(lab, tmp_path, {'namespaces': [ns], 'min_pods': 1, 'timeout': 300})
    assert res['failed'] and res['elapsed'] < 60
    assert 'doomed-' in res['msg']
    assert 'BackoffLimitExceeded' in res['msg'] or 'JobFailed' in res['msg'] or 'Failed' in res['msg']


@pytest.mark.lab
def test_absent_returns_once_the_deleted_deployments_pods_are_gone(lab, tmp_path, namespaces):
    (ns,) = namespaces(1, prefix='pr-absent')
    apply(lab, deployment('web', ns, 5), deployment('keep', ns, 1))
    res, wall = run_module(lab, tmp_path, {'namespaces': [ns], 'min_pods': 6, 'timeout': 120})
    assert not res.get('failed'), res['msg']
    lab.kubectl_run('-n', ns, 'delete', 'deployment', 'web', '--wait=false')
    res, wall = run_module(lab, tmp_path, {'namespaces': [ns], 'label_selector': 'app=web', 'state': 'absent',
                                           'timeout': 120})
    assert not res.get('failed'), res['msg']
    assert res['total'] == 0
    left = [p['metadata']['name'] for p in pods_json(lab, ns)]
    assert len(left) == 1 and left[0].startswith('keep-')


@pytest.mark.lab
def test_min_pods_catches_an_empty_namespace(lab, tmp_path, namespaces):
    (ns,) = namespaces(1, prefix='pr-empty')
    res, wall = run_module(lab, tmp_path, {'namespaces': [ns], 'min_pods': 1, 'settle': 3, 'timeout': 120})
    assert res['failed'] and res['elapsed'] < 30
    assert res['msg'] == 'found 0 matching pods in namespaces %s, fewer than min_pods=1' % ns
    res, wall = run_module(lab, tmp_path, {'namespaces': [ns], 'min_pods': 1, 'timeout': 3})
    assert res['failed'] and 'fewer than min_pods=1' in res['msg'] and res['msg'].startswith('timed out after 3s')
    # without min_pods an empty namespace is "all ready"
    res, wall = run_module(lab, tmp_path, {'namespaces': [ns], 'timeout': 3})
    assert not res.get('failed') and res['total'] == 0


@pytest.mark.lab
@pytest.mark.reliability('faults', 'kube-apiserver restarted during a pods_ready wait: the wait succeeds')
def test_apiserver_restart_during_the_wait_does_not_fail_it(lab, tmp_path, namespaces):
    if not hasattr(lab, 'restart_apiserver'):
        pytest.skip('the lab fixture offers no restart_apiserver()')
    (ns,) = namespaces(1, prefix='pr-restart')
    apply(lab, deployment('late', ns, 10, annotations={'kwok.test/ready-after': '30'}))
    proc = start_module(lab, tmp_path, {'namespaces': [ns], 'min_pods': 10, 'timeout': 240})
    time.sleep(8)
    lab.restart_apiserver()
    res = finish_module(proc)
    assert not res.get('failed'), res['msg']
    assert (res['ready'], res['total']) == (10, 10)
    assert res['reconnects'] >= 1


@pytest.mark.lab
def test_async_progress_pattern_shows_progress(lab, tmp_path, namespaces):
    """The EXAMPLES pattern (async + progress_file + slurp loop) prints N/M and lagging namespaces."""
    (ns,) = namespaces(1, prefix='pr-progress')
    apply(lab, deployment('fast', ns, 3), deployment('late', ns, 2, annotations={'kwok.test/ready-after': '12'}))
    progress = str(tmp_path / 'progress.json')
    tasks = [
        {'name': 'clean', 'ansible.builtin.file': {'path': progress, 'state': 'absent'}},
        {'name': 'start', 'kaapana.platform.pods_ready': {'namespaces': [ns], 'min_pods': 5, 'timeout': 120,
                                                          'progress_file': progress},
         'async': 150, 'poll': 0, 'register': 'pods_job'},
        {'name': 'progress', 'ansible.builtin.slurp': {'src': progress}, 'register': 'pods_progress',
         'failed_when': False, 'loop': '{{ range(0, 60) | list }}',
         'loop_control': {
             'pause': 2,
             'label': "{{ (pods_progress.content | default('e30=') | b64decode | from_json).line"
                      " | default('starting') }}",
             'break_when': ["(pods_progress.content | default('e30=') | b64decode | from_json).finished"
                            " | default(false)"]}},
        {'name': 'result', 'ansible.builtin.async_status': {'jid': '{{ pods_job.ansible_job_id }}'},
         'register': 'result', 'until': 'result is finished', 'retries': 20, 'delay': 1},
    ]
    env = base_env(lab)
    env['ANSIBLE_STDOUT_CALLBACK'] = 'default'
    env['ANSIBLE_CALLBACK_RESULT_FORMAT'] = 'json'
    proc = subprocess.run(playbook_cmd(write_playbook(tmp_path, tasks)), env=env, capture_output=True, text=True,
                          check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    items = [line for line in proc.stdout.splitlines() if '(item=' in line]
    assert any('3/5 pods ready after' in line and 'waiting on %s 3/5' % ns in line for line in items), items
    assert any('5/5 pods ready in 1 namespace' in line for line in items), items
    assert len(items) < 60  # the loop stopped once the module had finished


@pytest.mark.lab
def test_unbound_claim_names_the_missing_storage_class_and_the_missing_csi_driver(lab, tmp_path, namespaces):
    # Kaapana 0.6.1 deployed without its kaapana-storageclass release: the PVCs name classes nobody created, and the
    # scheduler only says "pod has unbound immediate PersistentVolumeClaims". The gate must name the class.
    # Longhorn is not installed here (the lab's provisioner, like real Longhorn, then leaves its claims Pending).
    assert lab.kubectl_run('get', 'csidriver', 'driver.longhorn.io', check=False).returncode != 0
    # One namespace per case: the gate fails at the first pod past the grace, so each case gets its own run.
    missing_ns, csi_ns = namespaces(2, prefix='pr-pvc')
    missing = 'kaapana-missing-%s' % missing_ns
    csi_class = 'kaapana-nocsi-%s' % csi_ns
    lab.kubectl_run('apply', '-f', '-', input_text=json.dumps({
        'apiVersion': 'storage.k8s.io/v1', 'kind': 'StorageClass', 'metadata': {'name': csi_class},
        'provisioner': 'driver.longhorn.io', 'volumeBindingMode': 'Immediate'}))
    try:
        messages = {}
        for ns, claim, cls in ((missing_ns, 'fast-data', missing), (csi_ns, 'slow-data', csi_class)):
            pod = bare_pod('uses-' + claim, ns)
            pod['spec']['volumes'] = [{'name': 'data', 'persistentVolumeClaim': {'claimName': claim}}]
            apply(lab, {'apiVersion': 'v1', 'kind': 'PersistentVolumeClaim',
                        'metadata': {'name': claim, 'namespace': ns},
                        'spec': {'accessModes': ['ReadWriteOnce'], 'storageClassName': cls,
                                 'resources': {'requests': {'storage': '1Gi'}}}}, pod)
            res, _proc = run_module(lab, tmp_path, {'namespaces': [ns], 'min_pods': 1, 'timeout': 120,
                                                    'unschedulable_grace': 5})
            assert res['failed'], res
            messages[claim] = res['msg']
        assert 'StorageClass %s does not exist' % missing in messages['fast-data'], messages['fast-data']
        assert '%s/fast-data' % missing_ns in messages['fast-data']
        assert 'driver.longhorn.io' in messages['slow-data'] and csi_class in messages['slow-data'], messages
    finally:
        lab.kubectl_run('delete', 'storageclass', csi_class, '--ignore-not-found', check=False)
