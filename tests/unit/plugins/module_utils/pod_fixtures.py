# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Pod and Job dicts in the API's JSON shape, for the pods_ready unit tests."""

import copy

T0 = '2026-01-01T00:00:00Z'


def pod(name='p', namespace='ns', phase='Running', ready=True, uid=None, owner=None, created=T0,
        ready_at='2026-01-01T00:00:05Z', containers=('app',), waiting=None, deleting=False, reason=None,
        message=None, unschedulable=None, restart_count=0, last_terminated=None, init_waiting=None,
        terminated=None):
    """A pod. ``waiting``: (reason, message) for every app container; ``owner``: (kind, name)."""
    meta = {'name': name, 'namespace': namespace, 'uid': uid or '%s-%s-uid' % (namespace, name),
            'creationTimestamp': created, 'resourceVersion': '1'}
    if owner:
        meta['ownerReferences'] = [{'kind': owner[0], 'name': owner[1], 'controller': True,
                                    'apiVersion': 'v1', 'uid': 'owner-uid'}]
    if deleting:
        meta['deletionTimestamp'] = '2026-01-01T00:01:00Z'
    statuses = []
    for c in containers:
        cs = {'name': c, 'ready': ready and phase == 'Running', 'restartCount': restart_count, 'image': 'img'}
        if waiting:
            cs['state'] = {'waiting': {'reason': waiting[0], 'message': waiting[1]}}
        elif terminated:
            cs['state'] = {'terminated': terminated}
        elif phase == 'Running':
            cs['state'] = {'running': {'startedAt': created}}
        else:
            cs['state'] = {'waiting': {'reason': 'ContainerCreating'}}
        if last_terminated:
            cs['lastState'] = {'terminated': last_terminated}
        statuses.append(cs)
    conditions = []
    if unschedulable:
        conditions.append({'type': 'PodScheduled', 'status': 'False', 'reason': 'Unschedulable',
                           'message': unschedulable})
    else:
        conditions.append({'type': 'PodScheduled', 'status': 'True', 'lastTransitionTime': created})
    if phase == 'Running':
        conditions.append({'type': 'Ready', 'status': 'True' if ready else 'False',
                           'lastTransitionTime': ready_at if ready else created,
                           'reason': None if ready else 'ContainersNotReady',
                           'message': None if ready else 'containers with unready status: [app]'})
    status = {'phase': phase, 'conditions': conditions, 'containerStatuses': statuses}
    if init_waiting:
        status['initContainerStatuses'] = [{'name': 'init', 'ready': False, 'restartCount': 0,
                                            'state': {'waiting': {'reason': init_waiting[0],
                                                                  'message': init_waiting[1]}}}]
    if reason:
        status['reason'] = reason
    if message:
        status['message'] = message
    spec = {'containers': [{'name': c, 'image': 'img'} for c in containers]}
    if not unschedulable:
        spec['nodeName'] = 'kwok-node-0'
    return {'metadata': meta, 'spec': spec, 'status': status}


def job_pod(name='job-x', namespace='ns', phase='Succeeded', job='job', **kw):
    if phase == 'Succeeded':
        kw.setdefault('terminated', {'exitCode': 0, 'reason': 'Completed', 'finishedAt': '2026-01-01T00:00:09Z'})
    if phase == 'Failed':
        kw.setdefault('terminated', {'exitCode': 1, 'reason': 'Error', 'finishedAt': '2026-01-01T00:00:09Z'})
    return pod(name=name, namespace=namespace, phase=phase, ready=False, owner=('Job', job), **kw)


def job(name='job', namespace='ns', failed=0, backoff=6, conditions=None):
    return {'metadata': {'name': name, 'namespace': namespace},
            'spec': {'backoffLimit': backoff},
            'status': {'failed': failed, 'conditions': conditions or []}}


def modified(p, **changes):
    """Deep copy of pod ``p`` with ``status`` keys replaced."""
    p = copy.deepcopy(p)
    p['status'].update(changes)
    return p
