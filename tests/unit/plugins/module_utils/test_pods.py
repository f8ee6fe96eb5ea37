# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Unit tests for plugins/module_utils/pods.py (pure logic, no cluster)."""

import pytest

from ansible_collections.kaapana.platform.plugins.module_utils import pods as P

from tests.unit.plugins.module_utils.pod_fixtures import job, job_pod, modified, pod


# --------------------------------------------------------------------------------------
# Namespace patterns
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize('pattern', [
    'default', 'kube-system', 'project-*', 'project-?', 'ns-[abc]', 'ns-[a-c]', 'ns-[!a-c]', '*', 'a' * 63,
    'ns-[-a]',
])
def test_valid_patterns(pattern):
    assert P.pattern_error(pattern) is None


@pytest.mark.parametrize('pattern, fragment', [
    ('project-[', 'unbalanced "["'),
    ('project-[abc', 'unbalanced "["'),
    ('ns-]', '"]" without "["'),
    ('ns-[]', 'empty bracket'),
    ('Kaapana', 'DNS-1123'),
    ('-ns', 'DNS-1123'),
    ('ns_1', 'DNS-1123'),
    ('a' * 64, 'longer than 63'),
    ('Project-*', 'cannot occur'),
    ('ns.*', 'cannot occur'),
    ('ns-[z-a]', 'bad range'),
    ('ns-[A]', 'not allowed in a bracket'),
    ('', 'empty'),
])
def test_bad_patterns(pattern, fragment):
    err = P.pattern_error(pattern)
    assert err and fragment in err


def test_validate_patterns_collects_all_errors():
    assert len(P.validate_patterns(['ok', 'bad[', 'Bad'])) == 2
    assert P.validate_patterns([]) == []
    assert P.validate_patterns(None) == []


def test_namespace_matching():
    pats = ['admin', 'project-*', 'ns-[ab]']
    assert P.namespace_matches('admin', pats)
    assert P.namespace_matches('project-x', pats)
    assert P.namespace_matches('ns-a', pats)
    assert not P.namespace_matches('ns-c', pats)
    assert not P.namespace_matches('administrator', pats)
    assert not P.namespace_matches('project', pats)
    assert P.namespace_matches('anything', [])


def test_plan_scopes():
    assert P.plan_scopes([]) is None
    assert P.plan_scopes(['a', 'project-*']) is None
    assert P.plan_scopes(['b', 'a', 'b']) == ['b', 'a']


def test_parse_time():
    assert P.parse_time('1970-01-01T00:01:00Z') == 60
    assert P.parse_time('1970-01-01T00:01:00.5Z') == 60.5
    assert P.parse_time('1970-01-01T01:01:00+01:00') == 60
    assert P.parse_time('nonsense') is None
    assert P.parse_time(None) is None


def test_parse_time_agrees_with_the_standard_library_and_rejects_impossible_dates():
    import calendar
    import time
    for text in ('2026-11-21T09:15:42Z', '2024-02-29T23:59:59Z', '1999-12-31T00:00:00Z'):
        want = calendar.timegm(time.strptime(text, '%Y-%m-%dT%H:%M:%SZ'))
        assert P.parse_time(text) == want
        assert P.parse_time(text) == want  # cached answer is the same
    assert P.parse_time('2026-02-30T00:00:00Z') is None
    assert P.parse_time('2026-13-01T00:00:00Z') is None
    assert P.parse_time('2026-01-01T24:00:00Z') is None
    assert P.parse_time('2026-01-01T00:00:00-0130') == calendar.timegm((2026, 1, 1, 1, 30, 0, 0, 0, 0))


# --------------------------------------------------------------------------------------
# classify_pod
# --------------------------------------------------------------------------------------

def test_running_ready_pod_is_ready():
    c = P.classify_pod(pod())
    assert c['state'] == P.STATE_READY and c['problem'] is None


def test_running_not_ready_pod_is_pending_with_reason():
    c = P.classify_pod(pod(ready=False))
    assert c['state'] == P.STATE_PENDING
    assert c['reason'] == 'ContainersNotReady'


def test_pending_pod_reports_container_creating():
    c = P.classify_pod(pod(phase='Pending', ready=False))
    assert (c['state'], c['reason'], c['container']) == (P.STATE_PENDING, 'ContainerCreating', 'app')


def test_ready_without_conditions_uses_container_statuses():
    p = pod()
    p['status']['conditions'] = []
    assert P.classify_pod(p)['state'] == P.STATE_READY
    p['status']['containerStatuses'][0]['ready'] = False
    assert P.classify_pod(p)['state'] == P.STATE_PENDING


def test_succeeded_job_pod_is_done():
    c = P.classify_pod(job_pod())
    assert c['state'] == P.STATE_SUCCEEDED


def test_terminating_pod():
    c = P.classify_pod(pod(deleting=True))
    assert c['state'] == P.STATE_TERMINATING and c['phase'] == 'Terminating'


@pytest.mark.parametrize('reason', ['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName'])
def test_image_pull_problems(reason):
    c = P.classify_pod(pod(phase='Pending', ready=False, waiting=(reason, 'Back-off pulling image "x"')))
    assert c['problem'] == P.PROBLEM_IMAGE_PULL
    assert c['reason'] == reason and c['container'] == 'app'
    assert 'pulling image' in c['message']


def test_init_container_image_pull_problem_names_init_container():
    c = P.classify_pod(pod(phase='Pending', ready=False, init_waiting=('ErrImagePull', 'no such image')))
    assert c['problem'] == P.PROBLEM_IMAGE_PULL and c['container'] == 'init:init'


def test_crash_loop_problem_with_last_exit():
    c = P.classify_pod(pod(ready=False, waiting=('CrashLoopBackOff', 'back-off 5m0s'), restart_count=5,
                           last_terminated={'exitCode': 1, 'reason': 'Error'}))
    assert c['problem'] == P.PROBLEM_CRASH_LOOP
    assert 'exit code 1' in c['message'] and '5 restarts' in c['message']


def test_create_container_config_error_is_crash_loop_class():
    c = P.classify_pod(pod(phase='Pending', ready=False, waiting=('CreateContainerConfigError', 'secret "x" not found')))
    assert c['problem'] == P.PROBLEM_CRASH_LOOP


def test_unschedulable():
    c = P.classify_pod(pod(phase='Pending', ready=False, unschedulable='0/1 nodes are available: 1 Insufficient cpu.'))
    assert c['problem'] == P.PROBLEM_UNSCHEDULABLE and 'Insufficient cpu' in c['message']


def test_evicted_is_fatal_even_with_replacing_owner():
    c = P.classify_pod(pod(phase='Failed', ready=False, reason='Evicted', message='The node was low on resource: memory.',
                           owner=('ReplicaSet', 'rs')))
    assert c['problem'] == P.PROBLEM_FATAL and c['reason'] == 'Evicted'


def test_failed_bare_pod_is_fatal():
    c = P.classify_pod(pod(phase='Failed', ready=False, terminated={'exitCode': 1, 'reason': 'Error'}))
    assert c['problem'] == P.PROBLEM_FATAL
    assert 'exited with code 1' in c['message'] and 'no controller will replace' in c['message']


def test_failed_pod_of_replicaset_is_ignored():
    c = P.classify_pod(pod(phase='Failed', ready=False, reason='NodeShutdown', owner=('ReplicaSet', 'rs')))
    assert c['state'] == P.STATE_IGNORED and c['problem'] is None


def test_failed_job_pod_needs_its_job():
    c = P.classify_pod(job_pod(phase='Failed'))
    assert c['problem'] == P.PROBLEM_JOB and c['state'] == P.STATE_FAILED


@pytest.mark.parametrize('the_job, state, problem, reason', [
    (job(failed=1, backoff=6), P.STATE_PENDING, None, 'JobRetrying'),
    (job(failed=1, backoff=0), P.STATE_FAILED, P.PROBLEM_FATAL, 'BackoffLimitExceeded'),
    (job(failed=2, backoff=6, conditions=[{'type': 'Failed', 'status': 'True', 'reason': 'DeadlineExceeded',
                                           'message': 'Job was active longer than specified deadline'}]),
     P.STATE_FAILED, P.PROBLEM_FATAL, 'DeadlineExceeded'),
    (job(failed=1, conditions=[{'type': 'Complete', 'status': 'True'}]), P.STATE_IGNORED, None, 'JobComplete'),
    (P.JOB_MISSING, P.STATE_FAILED, P.PROBLEM_FATAL, 'JobMissing'),
])
def test_failed_job_pod_verdicts(the_job, state, problem, reason):
    c = P.classify_pod(job_pod(phase='Failed'), the_job)
    assert (c['state'], c['problem'], c['reason']) == (state, problem, reason)


def test_unknown_phase_waits():
    c = P.classify_pod(pod(phase='Unknown', ready=False))
    assert c['state'] == P.STATE_PENDING and c['reason'] == 'Unknown' and c['problem'] is None


def test_ready_time_and_container_has_run():
    p = pod(created='2026-01-01T00:00:00Z', ready_at='2026-01-01T00:00:07Z')
    assert P.ready_time(p, P.classify_pod(p)) - P.parse_time('2026-01-01T00:00:00Z') == 7
    jp = job_pod()
    assert P.ready_time(jp, P.classify_pod(jp)) == P.parse_time('2026-01-01T00:00:09Z')
    assert P.container_has_run(pod(), 'app')
    assert not P.container_has_run(pod(phase='Pending', ready=False, waiting=('ImagePullBackOff', '')), 'app')
    assert P.container_has_run(pod(ready=False, waiting=('CrashLoopBackOff', ''), restart_count=2), 'app')
    assert not P.container_has_run(pod(), None)


# --------------------------------------------------------------------------------------
# PodTracker decisions
# --------------------------------------------------------------------------------------

def pending(name, ns='ns', **kw):
    return pod(name=name, namespace=ns, phase='Pending', ready=False, **kw)


def test_done_only_when_the_last_pod_is_ready():
    t = P.PodTracker(patterns=['ns'])
    t.resync('ns', [pod('a'), pending('b')], now=0)
    assert t.evaluate(1).status == 'wait'
    t.apply_event('MODIFIED', pod('b'), now=2)
    assert t.evaluate(2).status == 'done'
    assert t.totals() == (2, 2)


def test_namespace_filter_applies_to_cluster_wide_events():
    t = P.PodTracker(patterns=['project-*'])
    t.resync(None, [pod('a', 'project-1'), pending('b', 'other')], now=0)
    assert t.evaluate(0).status == 'done'
    assert t.namespaces() == ['project-1']


def test_terminating_pods_are_ignored_for_ready_but_awaited_for_absent():
    pods = [pod('a'), pending('b', deleting=True)]
    t = P.PodTracker()
    t.resync(None, pods, now=0)
    assert t.evaluate(0).status == 'done'
    t = P.PodTracker(state='absent')
    t.resync(None, pods, now=0)
    assert t.evaluate(0).status == 'wait'
    t.apply_event('DELETED', pods[0], now=1)
    assert t.evaluate(1).status == 'wait'
    t.apply_event('DELETED', pods[1], now=2)
    assert t.evaluate(2).status == 'done'


def test_empty_selection_is_done_unless_min_pods():
    t = P.PodTracker()
    t.resync(None, [], now=0)
    assert t.evaluate(0).status == 'done'
    t = P.PodTracker(patterns=['empty'], min_pods=1, now=0)
    t.resync('empty', [], now=0)
    d = t.evaluate(100)
    assert d.status == 'wait' and d.reason == 'min_pods'
    assert 'fewer than min_pods=1' in d.message and 'empty' in d.message


def test_min_pods_with_settle_fails_fast():
    t = P.PodTracker(patterns=['empty'], min_pods=2, settle=5, now=0)
    t.resync('empty', [pod('a', 'empty')], now=0)
    d = t.evaluate(1)
    assert d.status == 'wait' and d.wake_at == 6
    d = t.evaluate(6)
    assert d.status == 'fail' and d.reason == 'min_pods'
    assert 'found 1 matching pod in namespaces empty' in d.message


def test_min_pods_met_later():
    t = P.PodTracker(min_pods=2)
    t.resync(None, [pod('a')], now=0)
    assert t.evaluate(0).status == 'wait'
    t.apply_event('ADDED', pod('b'), now=1)
    assert t.evaluate(1).status == 'done'


def test_settle_waits_for_quiet_and_restarts_on_new_pods():
    t = P.PodTracker(settle=10)
    t.resync(None, [pod('a')], now=0)
    d = t.evaluate(0)
    assert d.status == 'wait' and d.reason == 'settle' and d.wake_at == 10
    t.apply_event('ADDED', pending('b'), now=5)
    assert t.evaluate(5).status == 'wait'
    t.apply_event('MODIFIED', pod('b'), now=7)
    d = t.evaluate(7)
    assert d.status == 'wait' and d.wake_at == 17
    assert t.evaluate(16.9).status == 'wait'
    assert t.evaluate(17).status == 'done'


def test_image_pull_is_fatal_after_grace():
    t = P.PodTracker(graces={P.PROBLEM_IMAGE_PULL: 30})
    t.resync(None, [pod('a'), pending('b', waiting=('ImagePullBackOff', 'Back-off pulling image "x"'))], now=0)
    d = t.evaluate(10)
    assert d.status == 'wait' and d.wake_at == 30
    d = t.evaluate(30)
    assert d.status == 'fail' and d.reason == 'fatal_pods'
    assert 'ns/b container app: ImagePullBackOff' in d.message
    assert [r['name'] for r in d.fatal] == ['b']


def test_grace_restarts_when_the_problem_changes_and_clears():
    t = P.PodTracker(graces={P.PROBLEM_IMAGE_PULL: 30})
    t.resync(None, [pending('b', waiting=('ErrImagePull', 'x'))], now=0)
    t.apply_event('MODIFIED', pending('b', waiting=('ImagePullBackOff', 'x')), now=20)
    assert t.evaluate(40).status == 'wait'
    t.apply_event('MODIFIED', pending('b'), now=41)
    assert t.pods['ns-b-uid']['problem_since'] is None
    assert t.evaluate(100).status == 'wait'


def test_crash_loop_and_unschedulable_graces():
    t = P.PodTracker(graces={P.PROBLEM_CRASH_LOOP: 0, P.PROBLEM_UNSCHEDULABLE: 50})
    t.resync(None, [pending('u', unschedulable='0/1 nodes')], now=0)
    assert t.evaluate(49).status == 'wait'
    assert t.evaluate(50).status == 'fail'
    t.apply_event('ADDED', pod('c', ready=False, waiting=('CrashLoopBackOff', 'back-off')), now=1)
    d = t.evaluate(1)
    assert d.status == 'fail' and 'CrashLoopBackOff' in d.message


def test_fail_fast_off_waits_for_timeout():
    t = P.PodTracker(fail_fast=False, graces={P.PROBLEM_IMAGE_PULL: 0})
    t.resync(None, [pending('b', waiting=('ImagePullBackOff', 'x'))], now=0)
    assert t.evaluate(100).status == 'wait'
    assert t.not_ready(100)[0]['fatal'] is True


def test_failed_job_pod_lifecycle():
    t = P.PodTracker()
    failed = job_pod('j-1', phase='Failed', job='j')
    t.resync(None, [failed], now=0)
    assert t.evaluate(0).status == 'wait'
    assert t.jobs_to_check(0) == [('ns', 'j')]
    t.set_job(('ns', 'j'), job('j', failed=1, backoff=2), now=0)
    assert t.evaluate(0).status == 'wait'
    assert t.jobs_to_check(5) == []
    assert t.next_job_check(10) == 10
    assert t.jobs_to_check(10) == [('ns', 'j')]
    # The Job retries and its second pod succeeds; the Job completes.
    t.apply_event('ADDED', job_pod('j-2', job='j'), now=11)
    assert t.evaluate(11).status == 'wait'
    t.set_job(('ns', 'j'), job('j', failed=1, conditions=[{'type': 'Complete', 'status': 'True'}]), now=12)
    assert t.evaluate(12).status == 'done'
    assert t.jobs_to_check(100) == []


def test_failed_job_pod_whose_job_gave_up_is_fatal():
    t = P.PodTracker()
    t.resync(None, [job_pod('j-1', phase='Failed', job='j')], now=0)
    t.set_job(('ns', 'j'), job('j', failed=1, backoff=0), now=0)
    d = t.evaluate(0)
    assert d.status == 'fail' and 'BackoffLimitExceeded' in d.message


def test_failed_job_pod_lookup_error_is_retried_later():
    t = P.PodTracker()
    t.resync(None, [job_pod('j-1', phase='Failed', job='j')], now=0)
    t.job_checked[('ns', 'j')] = 0  # the lookup failed at 0
    assert t.jobs_to_check(1) == []
    assert t.next_job_check(10) == 10
    t.set_job(('ns', 'j'), None, now=10)
    d = t.evaluate(10)
    assert d.status == 'fail' and 'JobMissing' in d.message


def test_resync_drops_pods_gone_from_the_scope_only():
    t = P.PodTracker()
    t.resync('a', [pod('x', 'a'), pod('y', 'a')], now=0)
    t.resync('b', [pending('z', 'b')], now=0)
    t.resync('a', [pod('x', 'a')], now=1)
    assert sorted(r['name'] for r in t.pods.values()) == ['x', 'z']


def test_changes_counter_moves_only_on_relevant_changes():
    t = P.PodTracker()
    t.resync(None, [pending('a')], now=0)
    c = t.changes
    t.apply_event('MODIFIED', pending('a'), now=1)
    assert t.changes == c
    t.apply_event('MODIFIED', pod('a'), now=2)
    assert t.changes == c + 1


# --------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------

def test_counts_not_ready_slowest_and_progress():
    t = P.PodTracker(patterns=['a', 'b'])
    t.set_namespaces(['a', 'b', 'c'])
    t.resync('a', [pod('fast', 'a', ready_at='2026-01-01T00:00:01Z'),
                   pod('slow', 'a', ready_at='2026-01-01T00:00:30Z'),
                   job_pod('done', 'a')], now=0)
    t.resync('b', [pending('p1', 'b'), pending('p2', 'b', waiting=('ImagePullBackOff', 'x')), pod('r', 'b'),
                   pod('gone', 'b', deleting=True)], now=0)
    counts = t.counts()
    assert counts['a'] == {'total': 3, 'ready': 3, 'Pending': 0, 'Running': 2, 'Succeeded': 1, 'Failed': 0,
                           'Unknown': 0, 'Terminating': 0}
    assert counts['b']['total'] == 3 and counts['b']['ready'] == 1 and counts['b']['Terminating'] == 1
    assert 'c' not in counts
    nr = t.not_ready(0)
    assert [(i['namespace'], i['name']) for i in nr] == [('b', 'p1'), ('b', 'p2')]
    assert nr[1]['reason'] == 'ImagePullBackOff' and nr[1]['problem_seconds'] == 0
    slow = t.slowest()
    assert slow[0]['name'] == 'slow' and slow[0]['seconds'] == 30
    assert [s['name'] for s in slow] == ['slow', 'done', 'r', 'fast']
    assert t.lagging() == ['b 1/3']
    line = t.progress_line(12.7)
    assert line == '4/6 pods ready after 12s; waiting on b 1/3'
    prog = t.progress(0, 12.7)
    assert prog['ready'] == 4 and prog['total'] == 6 and prog['finished'] is False


def test_absent_progress_and_counts():
    t = P.PodTracker(state='absent')
    t.resync(None, [pod('a', 'x'), pod('b', 'x', deleting=True), pod('c', 'y')], now=0)
    assert t.totals() == (0, 3)
    assert t.lagging() == ['x 2 left', 'y 1 left']
    assert t.progress_line(3) == '3 pods left after 3s; waiting on x 2 left, y 1 left'
    assert len(t.not_ready(0)) == 3


def test_lagging_is_capped():
    t = P.PodTracker()
    t.resync(None, [pending('p', 'ns%d' % i) for i in range(8)], now=0)
    lag = t.lagging(limit=5)
    assert len(lag) == 6 and lag[-1] == '3 more'


def test_failure_message_with_diagnostics():
    t = P.PodTracker(graces={P.PROBLEM_CRASH_LOOP: 0})
    t.resync(None, [pod('c', 'svc', ready=False, waiting=('CrashLoopBackOff', 'back-off 5m0s'), restart_count=3)],
             now=0)
    d = t.evaluate(5)
    rec = d.fatal[0]
    diag = {rec['key']: {
        'events': [{'type': 'Warning', 'reason': 'BackOff', 'message': 'Back-off restarting failed container',
                    'lastTimestamp': '2026-01-01T00:00:09Z', 'count': 4}],
        'logs': ['connecting to postgres', 'FATAL: connection refused'], 'log_source': 'app, previous run'}}
    text = P.fatal_message(d.fatal, 5, diag)
    assert text.splitlines()[0] == '1 pod cannot become ready:'
    assert '- svc/c container app: CrashLoopBackOff: back-off 5m0s (3 restarts) (for 5s)' in text
    assert 'Warning BackOff: Back-off restarting failed container (x4)' in text
    assert '| FATAL: connection refused' in text
    diag[rec['key']] = {'log_error': 'not available (500)'}
    assert 'logs: not available (500)' in P.fatal_message(d.fatal, 5, diag)


def test_recent_events_and_tail_lines():
    evs = [{'lastTimestamp': '2026-01-01T00:00:0%dZ' % i, 'reason': str(i)} for i in (3, 1, 2)]
    assert [e['reason'] for e in P.recent_events(evs, 2)] == ['2', '3']
    assert P.tail_lines(b'a\n\nb\nc\n', 2) == ['b', 'c']
    assert P.tail_lines('x' * 400, 1, width=10) == ['x' * 10 + '...']


def test_event_time_fallbacks():
    assert P.event_time({'eventTime': 'e'}) == 'e'
    assert P.event_time({'series': {'lastObservedTime': 's'}}) == 's'
    assert P.format_event({'reason': 'Pulled', 'message': 'ok '}) == '- Normal Pulled: ok'


def test_modified_helper_keeps_original():
    p = pod('a')
    q = modified(p, phase='Pending')
    assert p['status']['phase'] == 'Running' and q['status']['phase'] == 'Pending'
