# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Pure pod-readiness logic for the ``kaapana.platform.pods_ready`` module.

Everything here works on plain dicts in the Kubernetes JSON shape (camelCase keys, as the
API server sends them, as ``ApiClient.sanitize_for_serialization`` produces them, or as a
watch event's raw ``object``) and on a caller-supplied clock, so it is unit-testable without
a cluster.

Vocabulary:

* a pod's *state* is one of ``ready``, ``succeeded``, ``pending``, ``terminating``,
  ``failed`` and ``ignored`` (see :func:`classify_pod`);
* a *problem* is a reason to fail fast: ``image_pull``, ``crash_loop`` and
  ``unschedulable`` become fatal once they have lasted their grace period, ``fatal`` is fatal
  at once, ``job`` means "a Failed Job pod whose Job has not been looked up yet";
* the :class:`PodTracker` keeps the pods seen through a list plus watch and decides whether
  the wait is done, must go on, or fails fast.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import datetime
import fnmatch
import re

from ansible_collections.kaapana.platform.plugins.module_utils.k8s_names import is_dns1123_label

STATE_READY = 'ready'
STATE_SUCCEEDED = 'succeeded'
STATE_PENDING = 'pending'
STATE_TERMINATING = 'terminating'
STATE_FAILED = 'failed'
STATE_IGNORED = 'ignored'

DONE_STATES = frozenset([STATE_READY, STATE_SUCCEEDED])

PROBLEM_IMAGE_PULL = 'image_pull'
PROBLEM_CRASH_LOOP = 'crash_loop'
PROBLEM_UNSCHEDULABLE = 'unschedulable'
PROBLEM_FATAL = 'fatal'
PROBLEM_JOB = 'job'

# Container "waiting" reasons that mean the image cannot be pulled.
IMAGE_PULL_REASONS = frozenset([
    'ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'ErrImageNeverPull',
    'RegistryUnavailable', 'ErrRegistryUnavailable', 'SignatureValidationFailed',
])
# Container "waiting" reasons that mean the container cannot run or keeps dying.
CRASH_LOOP_REASONS = frozenset([
    'CrashLoopBackOff', 'CreateContainerConfigError', 'CreateContainerError',
    'RunContainerError', 'PreStartHookError', 'PostStartHookError',
])
# Owners that replace a Failed pod by a new one (so the Failed pod is history, not a failure).
REPLACING_OWNERS = frozenset(['ReplicaSet', 'StatefulSet', 'DaemonSet', 'ReplicationController'])

PHASES = ('Pending', 'Running', 'Succeeded', 'Failed', 'Unknown')

# Marker for "the Job of a Failed Job pod does not exist (any more)".
JOB_MISSING = {'missing': True}

DEFAULT_GRACES = {
    PROBLEM_IMAGE_PULL: 60,
    PROBLEM_CRASH_LOOP: 120,
    PROBLEM_UNSCHEDULABLE: 120,
}

_GLOB_CHARS = frozenset('*?[')
_NAME_CHARS = frozenset('abcdefghijklmnopqrstuvwxyz0123456789-')


# --------------------------------------------------------------------------------------
# Namespace patterns
# --------------------------------------------------------------------------------------

def is_glob(pattern):
    """True when ``pattern`` uses fnmatch syntax (``*``, ``?`` or ``[...]``)."""
    return any(c in _GLOB_CHARS for c in pattern)


def pattern_error(pattern):
    """Return why ``pattern`` is not a namespace name or glob, or None when it is fine.

    Literal names must be DNS-1123 labels. Globs may use ``*``, ``?`` and bracket
    expressions ``[abc]``, ``[a-z]``, ``[!a-z]`` over the characters of namespace names;
    an unbalanced ``[`` or a stray ``]`` is an error (fnmatch would silently match it
    literally, which is never what a namespace pattern means).
    """
    if not isinstance(pattern, str) or not pattern:
        return 'empty namespace pattern'
    if not is_glob(pattern) and ']' not in pattern:
        if len(pattern) > 63:
            return 'namespace name %r is longer than 63 characters' % pattern
        if not is_dns1123_label(pattern):
            return ('namespace name %r is not a DNS-1123 label (lowercase letters, digits '
                    'and "-", starting and ending with a letter or digit)' % pattern)
        return None
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c in '*?':
            i += 1
        elif c == '[':
            j = i + 1
            if j < n and pattern[j] == '!':
                j += 1
            start = j
            while j < n and pattern[j] != ']':
                if pattern[j] not in _NAME_CHARS:
                    return ('namespace pattern %r: %r is not allowed in a bracket expression'
                            % (pattern, pattern[j]))
                j += 1
            if j >= n:
                return 'namespace pattern %r: unbalanced "[" at position %d' % (pattern, i)
            if j == start:
                return 'namespace pattern %r: empty bracket expression at position %d' % (pattern, i)
            body = pattern[start:j]
            k = 0
            while k < len(body):
                if k + 2 < len(body) and body[k + 1] == '-':
                    if body[k] > body[k + 2]:
                        return 'namespace pattern %r: bad range %s-%s' % (pattern, body[k], body[k + 2])
                    k += 3
                else:
                    k += 1
            i = j + 1
        elif c == ']':
            return 'namespace pattern %r: "]" without "[" at position %d' % (pattern, i)
        elif c in _NAME_CHARS:
            i += 1
        else:
            return ('namespace pattern %r: %r cannot occur in a namespace name (use lowercase '
                    'letters, digits, "-", and the glob characters * ? [ ])' % (pattern, c))
    return None


def validate_patterns(patterns):
    """Return the list of error strings for ``patterns`` (empty when all are valid)."""
    errors = []
    for p in patterns or []:
        err = pattern_error(p)
        if err:
            errors.append(err)
    return errors


def namespace_matches(namespace, patterns):
    """True when ``namespace`` matches one of ``patterns``; an empty pattern list matches all."""
    if not patterns:
        return True
    for p in patterns:
        if is_glob(p):
            if fnmatch.fnmatchcase(namespace, p):
                return True
        elif namespace == p:
            return True
    return False


def plan_scopes(patterns):
    """How to list and watch: None for one cluster-wide list+watch, else a list of namespaces.

    Only literal names give per-namespace scopes (one list and one watch per namespace,
    which also works with namespace-scoped RBAC); an empty list or any glob needs the
    cluster-wide list+watch, filtered on the client.
    """
    if not patterns or any(is_glob(p) for p in patterns):
        return None
    seen = []
    for p in patterns:
        if p not in seen:
            seen.append(p)
    return seen


# --------------------------------------------------------------------------------------
# Single pods
# --------------------------------------------------------------------------------------

_RFC3339 = re.compile(r'^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?$')
_TIME_CACHE = {}


def parse_time(value):
    """RFC 3339 timestamp ("2026-01-02T03:04:05Z", fractions and offsets allowed) to epoch seconds.

    Called for every pod of every watch event: thousands of pods share a handful of timestamps, so
    results are cached, and the fields are read with a regex instead of time.strptime (10x slower)."""
    if not value or not isinstance(value, str):
        return None
    cached = _TIME_CACHE.get(value)
    if cached is not None or value in _TIME_CACHE:
        return cached
    secs = _parse_time(value.strip())
    if len(_TIME_CACHE) > 4096:
        _TIME_CACHE.clear()
    _TIME_CACHE[value] = secs
    return secs


def _parse_time(value):
    m = _RFC3339.match(value)
    if not m:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 60):
        return None
    try:
        secs = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
        datetime.date(year, month, day)
    except ValueError:
        return None
    if m.group(7):
        secs += float(m.group(7))
    tz = m.group(8)
    if tz and tz != 'Z':
        sign = 1 if tz[0] == '+' else -1
        digits = tz[1:].replace(':', '')
        secs -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return secs


def _meta(pod):
    return pod.get('metadata') or {}


def _status(pod):
    return pod.get('status') or {}


def pod_key(pod):
    """Identity of a pod: its UID, or namespace/name when the UID is missing (fixtures)."""
    meta = _meta(pod)
    return meta.get('uid') or '%s/%s' % (meta.get('namespace'), meta.get('name'))


def controller_owner(pod):
    """(kind, name) of the controlling owner reference, or (None, None)."""
    refs = _meta(pod).get('ownerReferences') or []
    for ref in refs:
        if ref.get('controller'):
            return ref.get('kind'), ref.get('name')
    if refs:
        return refs[0].get('kind'), refs[0].get('name')
    return None, None


def owner_job(pod):
    """(namespace, name) of the Job owning ``pod``, or None."""
    kind, name = controller_owner(pod)
    if kind == 'Job' and name:
        return _meta(pod).get('namespace'), name
    return None


def _condition(status, ctype):
    for cond in status.get('conditions') or []:
        if cond.get('type') == ctype:
            return cond
    return None


def _container_statuses(status):
    """(container status, is_init) for init containers first, then app containers."""
    out = [(cs, True) for cs in status.get('initContainerStatuses') or []]
    out.extend((cs, False) for cs in status.get('containerStatuses') or [])
    return out


def _last_exit(cs):
    term = (cs.get('lastState') or {}).get('terminated') or {}
    if not term:
        return ''
    text = 'last exit: %s' % (term.get('reason') or 'terminated')
    if term.get('exitCode') is not None:
        text += ' (exit code %s)' % term.get('exitCode')
    return text


def job_verdict(job):
    """Classify a Job for its Failed pods: ``complete``, ``failed`` or ``active`` (with a reason).

    Returns (verdict, reason, message). ``failed`` when the Job has a true ``Failed`` or
    ``FailureTarget`` condition or already counts more failed pods than its backoffLimit
    (the condition lags behind); ``complete`` when it has a true ``Complete`` or
    ``SuccessCriteriaMet`` condition; ``missing`` when the Job is gone; ``active`` otherwise
    (the Job controller will start another pod).
    """
    if job is None or job is JOB_MISSING or job.get('missing'):
        return 'missing', 'JobMissing', 'the pod failed and its Job no longer exists, so nothing will replace it'
    status = job.get('status') or {}
    spec = job.get('spec') or {}
    for ctype in ('Failed', 'FailureTarget'):
        cond = _condition(status, ctype)
        if cond and cond.get('status') == 'True':
            return 'failed', cond.get('reason') or 'JobFailed', cond.get('message') or 'the Job failed'
    for ctype in ('Complete', 'SuccessCriteriaMet'):
        cond = _condition(status, ctype)
        if cond and cond.get('status') == 'True':
            return 'complete', 'JobComplete', 'the Job completed with another pod'
    backoff = spec.get('backoffLimit')
    if backoff is None:
        backoff = 6
    failed = status.get('failed') or 0
    if failed > backoff:
        return ('failed', 'BackoffLimitExceeded',
                'Job has reached the specified backoff limit (%d failed, backoffLimit %d)' % (failed, backoff))
    return ('active', 'JobRetrying',
            'the pod failed; its Job will start another (%d of %d retries used)' % (failed, backoff))


def classify_pod(pod, job=None):
    """Classify one pod dict.

    Returns a dict with ``state`` (see module doc), ``phase`` (the API phase, or
    ``Terminating``), ``reason``, ``message``, ``container`` (the container the reason is
    about, if any) and ``problem`` (None or one of the PROBLEM_* values).

    Decisions, in order:

    1. ``deletionTimestamp`` set: ``terminating`` (ignored by ``state=ready``, waited for by
       ``state=absent``).
    2. phase ``Succeeded``: ``succeeded`` (done, like a Completed Job pod).
    3. phase ``Failed``: reason ``Evicted`` is fatal at once. A pod owned by a Job depends on
       the Job (``job`` argument, see :func:`job_verdict`): no Job dict yet gives problem
       ``job`` (look it up), an active Job makes it ``pending`` (a replacement comes), a
       complete Job makes it ``ignored``, a failed or missing Job makes it fatal. A pod owned
       by a ReplicaSet, StatefulSet, DaemonSet or ReplicationController is ``ignored``
       (the controller has replaced it). Any other Failed pod is fatal: nothing replaces it.
    4. a container waiting with an image-pull reason (``ImagePullBackOff``, ``ErrImagePull``,
       ...): problem ``image_pull``; with ``CrashLoopBackOff`` (or
       ``CreateContainerConfigError`` and similar): problem ``crash_loop``.
    5. condition ``PodScheduled`` False with reason ``Unschedulable``: problem ``unschedulable``.
    6. phase ``Running`` and condition ``Ready`` True (or, without conditions, every
       container ready): ``ready``; anything else is ``pending`` with the best reason known.
    """
    meta = _meta(pod)
    status = _status(pod)
    phase = status.get('phase') or 'Pending'
    out = {'state': STATE_PENDING, 'phase': phase, 'reason': None, 'message': None,
           'container': None, 'problem': None}

    if meta.get('deletionTimestamp'):
        out.update(state=STATE_TERMINATING, phase='Terminating', reason='Terminating',
                   message='deletion requested at %s' % meta.get('deletionTimestamp'))
        return out

    if phase == 'Succeeded':
        out.update(state=STATE_SUCCEEDED, reason='Completed')
        return out

    if phase == 'Failed':
        reason = status.get('reason') or 'Failed'
        message = status.get('message') or ''
        if not message:
            for cs, dummy in _container_statuses(status):
                term = (cs.get('state') or {}).get('terminated') or {}
                if term.get('exitCode'):
                    out['container'] = cs.get('name')
                    message = 'container %s exited with code %s (%s)' % (
                        cs.get('name'), term.get('exitCode'), term.get('reason') or 'Error')
                    break
        out.update(state=STATE_FAILED, reason=reason, message=message or 'the pod failed')
        if reason == 'Evicted':
            out['problem'] = PROBLEM_FATAL
            return out
        kind, dummy = controller_owner(pod)
        if kind == 'Job':
            if job is None:
                out['problem'] = PROBLEM_JOB
                return out
            verdict, jreason, jmessage = job_verdict(job)
            if verdict == 'active':
                out.update(state=STATE_PENDING, reason=jreason,
                           message='%s (%s)' % (jmessage, out['message']))
            elif verdict == 'complete':
                out.update(state=STATE_IGNORED, reason=jreason, message=jmessage)
            else:
                out.update(problem=PROBLEM_FATAL, reason=jreason,
                           message='%s; %s' % (out['message'], jmessage))
            return out
        if kind in REPLACING_OWNERS:
            out.update(state=STATE_IGNORED,
                       message='%s; replaced by its %s' % (out['message'], kind))
            return out
        out['problem'] = PROBLEM_FATAL
        out['message'] = '%s; no controller will replace this pod' % out['message']
        return out

    # Pending, Running or Unknown: look for waiting containers with a known bad reason.
    for cs, is_init in _container_statuses(status):
        waiting = (cs.get('state') or {}).get('waiting') or {}
        reason = waiting.get('reason')
        if reason in IMAGE_PULL_REASONS or reason in CRASH_LOOP_REASONS:
            message = waiting.get('message') or ''
            if reason in CRASH_LOOP_REASONS:
                extra = _last_exit(cs)
                restarts = cs.get('restartCount')
                if restarts:
                    extra = ('%s, %s restarts' % (extra, restarts)) if extra else '%s restarts' % restarts
                if extra:
                    message = '%s (%s)' % (message, extra) if message else extra
            out.update(reason=reason, message=message,
                       container=('init:' if is_init else '') + (cs.get('name') or ''),
                       problem=PROBLEM_IMAGE_PULL if reason in IMAGE_PULL_REASONS else PROBLEM_CRASH_LOOP)
            return out

    scheduled = _condition(status, 'PodScheduled')
    if scheduled and scheduled.get('status') == 'False' and scheduled.get('reason') == 'Unschedulable':
        out.update(reason='Unschedulable', message=scheduled.get('message') or '',
                   problem=PROBLEM_UNSCHEDULABLE)
        return out

    ready = _condition(status, 'Ready')
    statuses = status.get('containerStatuses') or []
    if phase == 'Running':
        if ready is not None:
            is_ready = ready.get('status') == 'True'
        else:
            is_ready = bool(statuses) and all(cs.get('ready') for cs in statuses)
        if is_ready:
            out.update(state=STATE_READY, reason='Ready')
            return out

    if phase == 'Unknown':
        out.update(reason='Unknown', message=status.get('message') or 'the node of this pod stopped reporting')
        return out

    # Not ready yet: the most telling reason.
    for cs, is_init in _container_statuses(status):
        state = cs.get('state') or {}
        if state.get('waiting'):
            out.update(reason=state['waiting'].get('reason') or 'Waiting',
                       message=state['waiting'].get('message') or '',
                       container=('init:' if is_init else '') + (cs.get('name') or ''))
            return out
        if is_init and not state.get('terminated') and not cs.get('ready'):
            out.update(reason='PodInitializing', message='init container %s is running' % cs.get('name'),
                       container='init:' + (cs.get('name') or ''))
            return out
    if scheduled is None or scheduled.get('status') != 'True':
        if not (pod.get('spec') or {}).get('nodeName'):
            out.update(reason='Scheduling', message='waiting for the scheduler')
            return out
    not_ready = [cs.get('name') for cs in statuses if not cs.get('ready')]
    if ready is not None and ready.get('reason'):
        out.update(reason=ready.get('reason'), message=ready.get('message') or '')
    else:
        out.update(reason='ContainersNotReady' if statuses else 'ContainerCreating')
    if not_ready and not out['message']:
        out['message'] = 'containers not ready: %s' % ', '.join(not_ready)
    return out


def ready_time(pod, classification):
    """Epoch seconds at which the pod became ready (or finished), or None."""
    status = _status(pod)
    if classification['state'] == STATE_READY:
        cond = _condition(status, 'Ready')
        return parse_time(cond.get('lastTransitionTime')) if cond else None
    if classification['state'] == STATE_SUCCEEDED:
        ends = []
        for cs, dummy in _container_statuses(status):
            term = (cs.get('state') or {}).get('terminated') or {}
            t = parse_time(term.get('finishedAt'))
            if t is not None:
                ends.append(t)
        if ends:
            return max(ends)
        cond = _condition(status, 'Ready')
        return parse_time(cond.get('lastTransitionTime')) if cond else None
    return None


def container_has_run(pod, container):
    """True when ``container`` (name, maybe ``init:``-prefixed) has started at least once (logs may exist)."""
    if not container:
        return False
    name = container[5:] if container.startswith('init:') else container
    for cs, dummy in _container_statuses(_status(pod)):
        if cs.get('name') != name:
            continue
        state = cs.get('state') or {}
        return bool(cs.get('restartCount') or state.get('running') or state.get('terminated')
                    or (cs.get('lastState') or {}).get('terminated'))
    return False


# --------------------------------------------------------------------------------------
# The set of pods: decision, summary, progress
# --------------------------------------------------------------------------------------

class Decision:
    """Outcome of :meth:`PodTracker.evaluate`.

    ``status`` is ``done``, ``wait`` or ``fail``; ``reason`` explains ``fail`` (``fatal_pods``
    or ``min_pods``); ``wake_at`` is the clock time at which the decision may change without
    any new event (a grace period or the settle time ending), or None.
    """

    def __init__(self, status, reason=None, message=None, wake_at=None, fatal=None):
        self.status = status
        self.reason = reason
        self.message = message
        self.wake_at = wake_at
        self.fatal = fatal or []

    def __repr__(self):
        return 'Decision(%r, %r, wake_at=%r)' % (self.status, self.reason, self.wake_at)


class PodTracker:
    """The pods matched so far and the wait decision over them.

    ``now`` arguments are monotonic clock readings in seconds (the caller's clock; tests
    pass plain numbers). ``graces`` maps PROBLEM_IMAGE_PULL, PROBLEM_CRASH_LOOP and
    PROBLEM_UNSCHEDULABLE to seconds; a problem becomes fatal once the module has seen it
    for that long.

    Updates keep small indexes (pods not done yet, pods with a problem) so that
    :meth:`evaluate` costs O(problem pods), not O(all pods), per batch of watch events.
    """

    def __init__(self, patterns=None, state='ready', min_pods=0, settle=0, fail_fast=True,
                 graces=None, now=0.0):
        self.patterns = list(patterns or [])
        self.state = state
        self.min_pods = min_pods or 0
        self.settle = settle or 0
        self.fail_fast = fail_fast
        self.graces = dict(DEFAULT_GRACES)
        self.graces.update(graces or {})
        self.started = now
        self.pods = {}          # key -> record
        self.jobs = {}          # (namespace, name) -> job dict or JOB_MISSING
        self.job_checked = {}   # (namespace, name) -> clock of the last lookup
        self.known_namespaces = set()
        self.last_new = now     # clock of the last new pod
        self.cond_since = None  # clock since which the success condition holds
        self.short_since = None  # clock since which all pods are done but fewer than min_pods
        self.changes = 0        # bumped on every change of the pod set or of a pod's state/reason
        self._counted = set()   # keys of pods that count for state=ready
        self._not_done = set()  # keys of counted pods not Ready/Succeeded
        self._problems = set()  # keys of counted pods with a problem
        self._failed_job_pods = set()  # keys of Failed pods owned by a Job (whatever their verdict)

    # -- updates ---------------------------------------------------------------------

    def matches(self, pod):
        return namespace_matches(_meta(pod).get('namespace') or '', self.patterns)

    def set_namespaces(self, names):
        """Record the namespaces that exist (from a namespace list) for the result."""
        self.known_namespaces = set(n for n in names if namespace_matches(n, self.patterns))

    def _unindex(self, key):
        self._counted.discard(key)
        self._not_done.discard(key)
        self._problems.discard(key)
        self._failed_job_pods.discard(key)

    def _index(self, rec):
        key = rec['key']
        self._unindex(key)
        cls = rec['cls']
        if rec.get('job') and cls['phase'] == 'Failed':
            self._failed_job_pods.add(key)
        if cls['state'] in (STATE_TERMINATING, STATE_IGNORED):
            return
        self._counted.add(key)
        if cls['state'] not in DONE_STATES:
            self._not_done.add(key)
        if cls['problem'] is not None:
            self._problems.add(key)

    def upsert(self, pod, now, scope=None):
        """Add or update ``pod`` (ADDED/MODIFIED event or list item)."""
        if not self.matches(pod):
            return
        key = pod_key(pod)
        meta = _meta(pod)
        job_ref = owner_job(pod)
        cls = classify_pod(pod, self.jobs.get(job_ref) if job_ref else None)
        rec = self.pods.get(key)
        if rec is None:
            self.last_new = now
            rec = {'key': key, 'namespace': meta.get('namespace'), 'name': meta.get('name'),
                   'created': parse_time(meta.get('creationTimestamp')), 'scope': scope,
                   'problem_since': None, 'problem_key': None}
            self.pods[key] = rec
            self.changes += 1
        elif (rec['cls']['state'], rec['cls']['reason']) != (cls['state'], cls['reason']):
            self.changes += 1
        rec['pod'] = pod
        rec['cls'] = cls
        rec['job'] = job_ref
        if scope is not None:
            rec['scope'] = scope
        rec['ready_at'] = ready_time(pod, cls)
        pkey = (cls['problem'], cls['reason'], cls['container'])
        if cls['problem'] is None:
            rec['problem_since'] = None
            rec['problem_key'] = None
        elif rec['problem_key'] != pkey:
            rec['problem_since'] = now
            rec['problem_key'] = pkey
        self._index(rec)

    def delete(self, pod, now):
        """Forget ``pod`` (DELETED event)."""
        key = pod_key(pod)
        if self.pods.pop(key, None) is not None:
            self._unindex(key)
            self.changes += 1

    def resync(self, scope, pods, now):
        """Replace every pod of ``scope`` by ``pods`` (the items of a fresh list)."""
        fresh = set()
        for pod in pods:
            if self.matches(pod):
                fresh.add(pod_key(pod))
                self.upsert(pod, now, scope)
        for key in [k for k, r in self.pods.items() if r.get('scope') == scope and k not in fresh]:
            del self.pods[key]
            self._unindex(key)
            self.changes += 1

    def apply_event(self, event_type, pod, now, scope=None):
        """Apply one watch event (ADDED, MODIFIED, DELETED; others are ignored)."""
        if event_type == 'DELETED':
            self.delete(pod, now)
        elif event_type in ('ADDED', 'MODIFIED'):
            self.upsert(pod, now, scope)

    # -- Jobs ------------------------------------------------------------------------

    def _failed_job_refs(self):
        refs = []
        for key in self._failed_job_pods:
            ref = self.pods[key]['job']
            if ref not in refs:
                refs.append(ref)
        return refs

    def _job_undecided(self, ref):
        job = self.jobs.get(ref)
        return job is None or job_verdict(job)[0] == 'active'

    def jobs_to_check(self, now, interval=10, limit=20):
        """Jobs of Failed pods without a verdict yet, not looked up in the last ``interval`` seconds."""
        wanted = []
        for ref in self._failed_job_refs():
            last = self.job_checked.get(ref)
            if self._job_undecided(ref) and (last is None or now - last >= interval):
                wanted.append(ref)
        return sorted(wanted)[:limit]

    def next_job_check(self, interval=10):
        """Clock time of the next Job lookup that :meth:`jobs_to_check` will ask for, or None."""
        times = [self.job_checked[ref] + interval for ref in self._failed_job_refs()
                 if ref in self.job_checked and self._job_undecided(ref)]
        return min(times) if times else None

    def set_job(self, ref, job, now):
        """Store a looked-up Job (None when it is gone) and re-classify its pods."""
        self.jobs[ref] = job if job is not None else JOB_MISSING
        self.job_checked[ref] = now
        for rec in list(self.pods.values()):
            if rec.get('job') == ref:
                self.upsert(rec['pod'], now)

    # -- decision --------------------------------------------------------------------

    def counts_for_ready(self, rec):
        """Whether a pod counts for ``state=ready`` (terminating and replaced pods do not)."""
        return rec['cls']['state'] not in (STATE_TERMINATING, STATE_IGNORED)

    def is_fatal(self, rec, now):
        problem = rec['cls']['problem']
        if problem is None or problem == PROBLEM_JOB:
            return False
        if problem == PROBLEM_FATAL:
            return True
        since = rec['problem_since'] if rec['problem_since'] is not None else now
        return now - since >= self.graces.get(problem, 0)

    def evaluate(self, now):
        """Decide: ``done``, ``wait`` or ``fail`` (see :class:`Decision`).

        ``state=ready``: fail at once when ``fail_fast`` and a pod is fatal; done when every
        counted pod is Ready or Succeeded, at least ``min_pods`` pods count, and that has held
        for ``settle`` seconds with no new pod. With fewer than ``min_pods`` pods the wait goes
        on (new pods may come); with ``settle`` and ``fail_fast`` it fails once ``settle``
        seconds pass like that with no new pod. ``state=absent``: done when no matching pod
        is left (terminating ones included) for ``settle`` seconds.
        """
        wake = []
        if self.state == 'absent':
            cond = not self.pods
        else:
            fatal = []
            for key in self._problems:
                rec = self.pods[key]
                problem = rec['cls']['problem']
                if self.is_fatal(rec, now):
                    fatal.append(rec)
                elif problem in self.graces:
                    wake.append(rec['problem_since'] + self.graces[problem])
            if fatal and self.fail_fast:
                fatal.sort(key=lambda r: (r['namespace'], r['name']))
                return Decision('fail', 'fatal_pods', fatal_message(fatal, now), wake_at=None, fatal=fatal)
            all_done = not self._not_done
            if all_done and len(self._counted) < self.min_pods:
                self.cond_since = None
                if self.short_since is None:
                    self.short_since = now
                message = self.min_pods_message(len(self._counted))
                if self.settle and self.fail_fast:
                    quiet_since = max(self.short_since, self.last_new)
                    if now - quiet_since >= self.settle:
                        return Decision('fail', 'min_pods', message)
                    wake.append(quiet_since + self.settle)
                return Decision('wait', 'min_pods', message, wake_at=min(wake) if wake else None)
            self.short_since = None
            cond = all_done
        if not cond:
            self.cond_since = None
            return Decision('wait', wake_at=min(wake) if wake else None)
        if self.cond_since is None:
            self.cond_since = now
        quiet_since = max(self.cond_since, self.last_new)
        if self.settle and now - quiet_since < self.settle:
            wake.append(quiet_since + self.settle)
            return Decision('wait', 'settle', wake_at=min(wake))
        return Decision('done')

    def min_pods_message(self, found):
        where = ('namespaces %s' % ', '.join(self.patterns)) if self.patterns else 'the cluster'
        return ('found %d matching pod%s in %s, fewer than min_pods=%d'
                % (found, '' if found == 1 else 's', where, self.min_pods))

    # -- reporting -------------------------------------------------------------------

    def namespaces(self):
        names = set(self.known_namespaces)
        names.update(r['namespace'] for r in self.pods.values())
        return sorted(names)

    def counts(self):
        """{namespace: {total, ready, Pending, Running, Succeeded, Failed, Unknown, Terminating}}.

        ``total`` counts the pods the wait is about (for ``state=ready`` without terminating
        and replaced pods), ``ready`` those of them that are Ready or Succeeded; the phase
        keys count every pod seen, by phase (Terminating separately).
        """
        out = {}
        for ns in self.namespaces():
            out[ns] = dict(total=0, ready=0, Terminating=0, **dict((p, 0) for p in PHASES))
        for rec in self.pods.values():
            c = out[rec['namespace']]
            phase = rec['cls']['phase']
            c[phase] = c.get(phase, 0) + 1
            if self.state == 'absent' or self.counts_for_ready(rec):
                c['total'] += 1
                if self.state != 'absent' and rec['cls']['state'] in DONE_STATES:
                    c['ready'] += 1
        return out

    def totals(self):
        ready = total = 0
        for c in self.counts().values():
            ready += c['ready']
            total += c['total']
        return ready, total

    def not_ready(self, now, limit=100):
        """Pods the wait is still about, with reasons (fatal ones first), at most ``limit``."""
        out = []
        for rec in self.pods.values():
            cls = rec['cls']
            if self.state == 'absent':
                pass
            elif not self.counts_for_ready(rec) or cls['state'] in DONE_STATES:
                continue
            since = rec['problem_since']
            out.append({
                'namespace': rec['namespace'], 'name': rec['name'], 'phase': cls['phase'],
                'reason': cls['reason'], 'message': cls['message'] or '', 'container': cls['container'],
                'fatal': self.state != 'absent' and self.is_fatal(rec, now),
                'problem_seconds': round(now - since, 1) if since is not None else None,
            })
        out.sort(key=lambda i: (not i['fatal'], i['namespace'], i['name']))
        return out[:limit]

    def slowest(self, limit=5):
        """Pods with the longest creation-to-ready (or -finished) time, slowest first."""
        items = []
        for rec in self.pods.values():
            if rec['cls']['state'] in DONE_STATES and rec['created'] is not None and rec['ready_at'] is not None:
                items.append({'namespace': rec['namespace'], 'name': rec['name'],
                              'seconds': round(max(0.0, float(rec['ready_at'] - rec['created'])), 1),
                              'state': rec['cls']['state']})
        items.sort(key=lambda i: (-i['seconds'], i['namespace'], i['name']))
        return items[:limit]

    def lagging(self, limit=5):
        """["ns 3/10", ...]: namespaces still waited for, the furthest behind first."""
        rows = []
        for ns, c in self.counts().items():
            if self.state == 'absent':
                if c['total']:
                    rows.append((c['total'], '%s %d left' % (ns, c['total'])))
            elif c['ready'] < c['total']:
                rows.append((-(c['ready'] / float(c['total'])), '%s %d/%d' % (ns, c['ready'], c['total'])))
        rows.sort(key=lambda r: (-r[0], r[1]) if self.state == 'absent' else (r[0], r[1]))
        rows = [r[1] for r in rows]
        if len(rows) > limit:
            rows = rows[:limit] + ['%d more' % (len(rows) - limit)]
        return rows

    def progress_line(self, elapsed):
        ready, total = self.totals()
        lag = self.lagging()
        if self.state == 'absent':
            line = '%d pod%s left after %ds' % (total, '' if total == 1 else 's', int(elapsed))
        else:
            line = '%d/%d pods ready after %ds' % (ready, total, int(elapsed))
            if total < self.min_pods:
                line += ' (min_pods %d)' % self.min_pods
        if lag:
            line += '; waiting on %s' % ', '.join(lag)
        return line

    def progress(self, now, elapsed, finished=False, failed=False, msg=None):
        """Small dict for the progress file."""
        ready, total = self.totals()
        return {
            'finished': finished, 'failed': failed, 'state': self.state,
            'ready': ready, 'total': total, 'elapsed': round(elapsed, 1),
            'lagging': self.lagging(), 'line': msg or self.progress_line(elapsed),
            'not_ready': self.not_ready(now, limit=10),
        }


# Provisioners that can only provision once their CSI driver is registered (a CSIDriver object of that name). In-tree
# provisioners and MicroK8s' microk8s.io/hostpath (a plain controller) need none: their class existing is enough.
CSI_DRIVER_PROVISIONERS = ('driver.longhorn.io',)
CSI_DRIVER_FIX = {'driver.longhorn.io': 'install Longhorn (playbooks/storage.yml with kaapana_storage_provider: longhorn)'}
# Kaapana's own StorageClasses: 0.6.0's admin chart creates them, 0.6.1+ the separate kaapana-storageclass release.
KAAPANA_CLASS_PREFIX = 'kaapana-'
KAAPANA_CLASS_HINT = ('Kaapana 0.6.1+ installs it with the kaapana-storageclass release (the admin chart\'s '
                      'kaapana-storage-chart, installed before the platform), 0.6.0 with its admin chart')


def pod_claims(pod):
    """Names of the PersistentVolumeClaims the pod mounts, in the order of its volumes."""
    names = []
    for volume in ((pod or {}).get('spec') or {}).get('volumes') or []:
        claim = (volume.get('persistentVolumeClaim') or {}).get('claimName')
        if claim and claim not in names:
            names.append(claim)
    return names


def needs_csi_driver(provisioner):
    """Whether a StorageClass's provisioner works only with a registered CSIDriver of that name."""
    text = (provisioner or '').strip().lower()
    return text in CSI_DRIVER_PROVISIONERS or 'csi' in re.split(r'[./_-]', text)


def storage_problem(namespace, claim, pvc, storage_class=None, csi_driver_present=None):
    """Why a pod's PVC cannot be bound, naming the PVC and its StorageClass; None when nothing storage-side is known
    to be wrong. pvc: the PVC (None: it does not exist); storage_class: its StorageClass (None: it does not exist;
    only read when the PVC is not Bound and names a class); csi_driver_present: whether the CSIDriver of the class's
    provisioner exists (None: not known or not needed)."""
    where = 'PVC %s/%s' % (namespace, claim)
    if pvc is None:
        return '%s does not exist' % where
    if ((pvc.get('status') or {}).get('phase')) == 'Bound':
        return None
    class_name = (pvc.get('spec') or {}).get('storageClassName')
    if not class_name:
        return None
    if storage_class is None:
        text = '%s: StorageClass %s does not exist' % (where, class_name)
        if class_name.startswith(KAAPANA_CLASS_PREFIX):
            text += ': ' + KAAPANA_CLASS_HINT
        return text
    provisioner = storage_class.get('provisioner') or ''
    if needs_csi_driver(provisioner) and csi_driver_present is False:
        text = ('%s: StorageClass %s has no provisioner: its CSI driver %s is not installed (no CSIDriver %s)'
                % (where, class_name, provisioner, provisioner))
        if provisioner in CSI_DRIVER_FIX:
            text += '; %s' % CSI_DRIVER_FIX[provisioner]
        return text
    return None


def fatal_message(records, now, diagnostics=None):
    """Failure text listing each bad pod; ``diagnostics`` maps a pod key to {events, logs, log_error}."""
    diagnostics = diagnostics or {}
    lines = ['%d pod%s cannot become ready:' % (len(records), '' if len(records) == 1 else 's')]
    for rec in records:
        lines.extend(describe_bad_pod(rec, now, diagnostics.get(rec['key'])))
    return '\n'.join(lines)


def describe_bad_pod(rec, now, diag=None):
    """Lines for one bad pod: headline, then recent Events and last log lines when known."""
    cls = rec['cls']
    head = '- %s/%s' % (rec['namespace'], rec['name'])
    if cls.get('container'):
        head += ' container %s' % cls['container']
    head += ': %s' % cls['reason']
    if cls.get('message'):
        head += ': %s' % cls['message']
    if rec.get('problem_since') is not None and now - rec['problem_since'] >= 1:
        head += ' (for %ds)' % int(now - rec['problem_since'])
    lines = [head]
    diag = diag or {}
    for problem in diag.get('storage') or []:
        lines.append('  storage: %s' % problem)
    events = diag.get('events') or []
    if events:
        lines.append('  recent events:')
        for ev in events:
            lines.append('    %s' % format_event(ev))
    if diag.get('logs'):
        lines.append('  last log lines (%s):' % diag.get('log_source', 'container'))
        for line in diag['logs']:
            lines.append('    | %s' % line)
    elif diag.get('log_error'):
        lines.append('  logs: %s' % diag['log_error'])
    return lines


def event_time(ev):
    return (ev.get('lastTimestamp') or ev.get('eventTime') or (ev.get('series') or {}).get('lastObservedTime')
            or ev.get('firstTimestamp') or (ev.get('metadata') or {}).get('creationTimestamp') or '')


def recent_events(events, limit=5):
    """The ``limit`` most recent Events (dicts), oldest first."""
    events = sorted(events or [], key=event_time)
    return events[-limit:]


def format_event(ev):
    count = ev.get('count') or (ev.get('series') or {}).get('count')
    text = '%s %s %s: %s' % (event_time(ev) or '-', ev.get('type') or 'Normal', ev.get('reason') or '',
                             (ev.get('message') or '').strip())
    if count and count > 1:
        text += ' (x%d)' % count
    return text


def tail_lines(text, limit=10, width=300):
    """Last ``limit`` non-empty lines of ``text``, each cut to ``width`` characters."""
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    lines = [line.rstrip() for line in (text or '').splitlines() if line.strip()]
    return [line if len(line) <= width else line[:width] + '...' for line in lines[-limit:]]
