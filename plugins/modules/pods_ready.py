#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: pods_ready
short_description: Wait until pods are ready (or gone), failing fast with the reason
version_added: 0.1.0
description:
  - Waits until every matching pod is C(Running) with all containers ready, or C(Succeeded)
    (a completed Job pod counts as done), or, with O(state=absent), until no matching pod is left.
  - Uses one LIST and then one WATCH from the list's resourceVersion per scope (all namespaces, or
    one per namespace when O(namespaces) holds only literal names). A dropped watch is reopened from
    the last resourceVersion seen; an expired one (410 Gone) is replaced by a fresh LIST. It never
    polls, so the number of API requests does not grow with the number of pods, and it returns as
    soon as the last pod turns ready.
  - Fails fast, without waiting for O(timeout), when a pod cannot become ready (see O(fail_fast)).
    The failure message lists each bad pod with namespace, container, reason and message, its most
    recent Events and, where the API has them, its last log lines.
  - Reports progress in O(progress_file) while it waits, so that a playbook running it with
    C(async) can show C(N/M ready) and the namespaces that lag (see the examples).
author:
  - kaapana.platform maintainers (@kaapana)
requirements:
  - kubernetes (Python library)
options:
  namespaces:
    description:
      - Namespaces to watch, as names or shell-style glob patterns such as V(project-*),
        V(kaapana-?) or V(ns-[a-c]).
      - An empty list means all namespaces.
      - Literal names are watched one namespace at a time (namespace-scoped permissions suffice);
        with a pattern or an empty list the pods of all namespaces are listed and watched, which
        needs cluster-wide C(list) and C(watch) on pods.
      - A name that is not a DNS-1123 label, or a pattern with bad syntax (for example an unbalanced
        V([)), fails the task before it waits.
    type: list
    elements: str
    default: []
  label_selector:
    description:
      - Only pods matching this label selector, for example V(app.kubernetes.io/instance=kaapana-admin).
    type: str
  state:
    description:
      - V(ready) waits until every matching pod is Ready or Succeeded. Terminating pods are ignored,
        and so are Failed pods that their ReplicaSet, StatefulSet or DaemonSet has replaced.
      - V(absent) waits until no matching pod is left, terminating ones included (for undeploy).
        O(fail_fast) and the grace options do not apply.
    type: str
    choices: [ready, absent]
    default: ready
  timeout:
    description:
      - Seconds to wait before failing. V(0) checks once without waiting.
    type: int
    default: 600
  min_pods:
    description:
      - Minimum number of matching pods (over all matched namespaces). While fewer exist the module
        keeps waiting even if all of them are ready; it fails at O(timeout), or as soon as O(settle)
        seconds pass with every pod ready and no new pod when O(settle) is set and O(fail_fast) is on.
      - Catches an empty namespace or a selector that matches nothing, which would otherwise count as
        "all ready".
      - Not allowed with O(state=absent).
    type: int
    default: 0
  settle:
    description:
      - Seconds during which every pod must stay ready with no new pod appearing before the module
        succeeds. Helm charts create pods in waves (hooks, Jobs, operators); a short settle time keeps
        the module from returning between two waves.
      - With O(state=absent), seconds with no matching pod left.
      - Must not exceed O(timeout).
    type: int
    default: 0
  fail_fast:
    description:
      - Fail before O(timeout) when a pod cannot become ready. Fatal at once are an V(Evicted) pod, a
        C(Failed) pod that nothing will replace (no owner, or a Job that has failed or no longer exists),
        fatal after their grace period are image pull errors (O(image_pull_grace)), crash loops
        (O(crash_loop_grace)) and unschedulable pods (O(unschedulable_grace)).
      - A C(Failed) pod of a Job that is still running and has retries left is waited for (the Job
        will start another pod); once the Job completes the failed attempt is ignored.
      - If V(false), such pods only count as not ready until O(timeout).
    type: bool
    default: true
  image_pull_grace:
    description:
      - Seconds a container may stay waiting with an image pull error (V(ImagePullBackOff),
        V(ErrImagePull), V(InvalidImageName), V(ErrImageNeverPull), ...) before the module fails.
      - Counted from when the module first sees the error.
    type: int
    default: 60
  crash_loop_grace:
    description:
      - Seconds a container may stay waiting in V(CrashLoopBackOff) (or V(CreateContainerConfigError),
        V(CreateContainerError), V(RunContainerError)) before the module fails. Some services crash until
        their database is up, hence the longer default.
      - Counted from when the module first sees the state.
    type: int
    default: 120
  unschedulable_grace:
    description:
      - Seconds a pod may stay C(Unschedulable) (no node fits; often an unbound PersistentVolumeClaim
        or too little CPU or memory) before the module fails.
      - Counted from when the module first sees the state.
      - When it fails (or times out) on a pod whose PersistentVolumeClaim is not bound, the message names the
        claim and its StorageClass when that class does not exist (Kaapana 0.6.1+ installs its classes with the
        C(kaapana-storageclass) release) or its CSI provisioner is not installed (no CSIDriver, for example
        C(driver.longhorn.io)); this needs C(get) on PersistentVolumeClaims, StorageClasses and CSIDrivers.
    type: int
    default: 120
  progress_file:
    description:
      - Path of a JSON file, on the host the module runs on, rewritten while the module waits (on every
        change, at most once a second, and at least every 5 seconds) and once more when it ends.
      - 'Keys: C(finished), C(failed), C(ready), C(total), C(elapsed), C(lagging) (namespaces still waited
        for, as C(ns ready/total)), C(not_ready) (up to 10 pods with reasons) and C(line), a one-line
        summary such as C(180/200 pods ready after 45s; waiting on services 20/40).'
      - Meant for C(async) runs; see the examples for a task pattern that prints C(line) at least
        every 15 seconds. The directory must exist.
    type: path
extends_documentation_fragment:
  - kaapana.platform.k8s_auth
attributes:
  check_mode:
    support: full
    description: The module only reads from the API (and writes O(progress_file) if set); check mode runs it unchanged.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to diff.
notes:
  - Without O(kubeconfig) and E(K8S_AUTH_KUBECONFIG) the module uses E(KUBECONFIG), C(~/.kube/config),
    the in-cluster service account, then the MicroK8s client configuration
    C(/var/snap/microk8s/current/credentials/client.config).
  - The API server is contacted before waiting; missing credentials or a missing kubeconfig fail the task
    at once with the server URL or the option to set. A server that does not answer at all is tried again
    for about 60 seconds (it may be restarting), never past O(timeout), before the task fails with its URL.
  - Events are read for at most 5 failing pods and logs only for containers that have run, within a
    budget of 20 seconds, so a failure is reported quickly even when logs are not reachable.
  - The module also logs its progress line to the target's syslog or journal every 30 seconds.
  - Kubernetes timestamps (used for RV(slowest)) come from the cluster's clock; grace periods and
    O(settle) use the module's own monotonic clock.
seealso:
  - module: kubernetes.core.k8s_info
    description: Its O(kubernetes.core.k8s_info#module:wait) polls every few seconds, never accepts
      completed Job pods, and can succeed on an empty list.
"""

EXAMPLES = r"""
- name: Wait for the Kaapana platform pods (synchronous; the result summarises the wait)
  kaapana.platform.pods_ready:
    namespaces: [admin, services, extensions, "project-*"]
    timeout: 1200
    settle: 10
    min_pods: 10
  register: platform_pods

- name: Wait for the pods of one Helm release in one namespace
  kaapana.platform.pods_ready:
    namespaces: [services]
    label_selector: app.kubernetes.io/instance=kaapana-platform
    kubeconfig: /var/snap/microk8s/current/credentials/client.config
    timeout: 600

- name: Wait until the undeployed release has no pods left
  kaapana.platform.pods_ready:
    namespaces: [services, "project-*"]
    state: absent
    timeout: 300

# Progress while waiting: run the module in the background with a progress file, print its
# summary line every 15 seconds until it has finished, then collect the result.
# (loop_control.break_when needs ansible-core 2.18 or later.)
- name: Remove the progress file of an earlier run
  ansible.builtin.file:
    path: /tmp/kaapana-pods-ready.json
    state: absent

- name: Wait for the platform pods in the background
  kaapana.platform.pods_ready:
    namespaces: [admin, services, "project-*"]
    timeout: 1200
    settle: 10
    progress_file: /tmp/kaapana-pods-ready.json
  async: 1300
  poll: 0
  register: pods_job

- name: Show progress (N/M ready, lagging namespaces) every 15 seconds
  ansible.builtin.slurp:
    src: /tmp/kaapana-pods-ready.json
  register: pods_progress
  failed_when: false
  loop: "{{ range(0, 1300 // 15 + 1) | list }}"
  loop_control:
    pause: 15
    label: "{{ (pods_progress.content | default('e30=') | b64decode | from_json).line | default('starting') }}"
    break_when:
      - (pods_progress.content | default('e30=') | b64decode | from_json).finished | default(false)

- name: Collect the result (fails here if the pods did not become ready)
  ansible.builtin.async_status:
    jid: "{{ pods_job.ansible_job_id }}"
  register: platform_pods
  until: platform_pods is finished
  retries: 20
  delay: 3
"""

RETURN = r"""
msg:
  description: One-line summary of the outcome.
  returned: always
  type: str
  sample: 200/200 pods ready in 4 namespaces after 14.2s
ready:
  description: Number of pods that are Ready or Succeeded (0 with O(state=absent)).
  returned: always
  type: int
  sample: 200
total:
  description: Number of pods the wait is about (for O(state=ready) without terminating and replaced pods).
  returned: always
  type: int
  sample: 200
pods:
  description:
    - Counts per namespace. V(total) and V(ready) as in RV(total) and RV(ready); the phase keys count
      every matching pod seen, by phase, with terminating pods under V(Terminating).
  returned: always
  type: dict
  sample:
    services: {total: 50, ready: 50, Pending: 0, Running: 48, Succeeded: 2, Failed: 0, Unknown: 0, Terminating: 0}
not_ready:
  description:
    - Pods still waited for when the module ended (for O(state=absent), the pods left), fatal ones
      first, at most 100.
  returned: always
  type: list
  elements: dict
  contains:
    namespace:
      description: Namespace of the pod.
      type: str
    name:
      description: Name of the pod.
      type: str
    phase:
      description: Pod phase, or V(Terminating).
      type: str
    reason:
      description: Why it is not ready, for example V(ContainerCreating), V(ImagePullBackOff), V(Unschedulable).
      type: str
    message:
      description: Message that goes with RV(not_ready[].reason).
      type: str
    container:
      description: Container the reason is about (V(init:) prefix for init containers), or null.
      type: str
    fatal:
      description: Whether this pod made the module fail fast.
      type: bool
    problem_seconds:
      description: Seconds the module has seen the pod in its failure state, or null.
      type: float
  sample:
    - {namespace: services, name: dcm4chee-0, phase: Pending, reason: ImagePullBackOff,
       message: Back-off pulling image "registry/dcm4chee:1.0", container: dcm4chee, fatal: true, problem_seconds: 61.0}
slowest:
  description: The 5 pods that took longest from creation to Ready (or to completion), slowest first.
  returned: always
  type: list
  elements: dict
  contains:
    namespace:
      description: Namespace of the pod.
      type: str
    name:
      description: Name of the pod.
      type: str
    seconds:
      description: Seconds from creation to Ready or completion (cluster clock).
      type: float
    state:
      description: V(ready) or V(succeeded).
      type: str
  sample:
    - {namespace: services, name: keycloak-0, seconds: 48.0, state: ready}
elapsed:
  description: Seconds the module waited.
  returned: always
  type: float
  sample: 14.2
api_requests:
  description: HTTP requests made to the API server (lists, watches, reconnects, Job lookups, Events and logs).
  returned: always
  type: int
  sample: 6
namespaces:
  description: Namespaces matched by O(namespaces) (existing ones, and any that had matching pods).
  returned: always
  type: list
  elements: str
  sample: [admin, project-admin, services]
reconnects:
  description: Times a watch was opened again after it ended or its connection dropped.
  returned: always
  type: int
  sample: 0
relists:
  description: Times a scope was listed again because its resourceVersion had expired (410 Gone).
  returned: always
  type: int
  sample: 0
failed_pods:
  description: On failure, the bad pods with their recent Events and last log lines (at most 5).
  returned: failure
  type: list
  elements: dict
  contains:
    namespace:
      description: Namespace of the pod.
      type: str
    name:
      description: Name of the pod.
      type: str
    container:
      description: Container concerned, or null.
      type: str
    reason:
      description: Failure reason.
      type: str
    message:
      description: Failure message.
      type: str
    events:
      description: Most recent Events of the pod, as text lines.
      type: list
      elements: str
    logs:
      description: Last log lines of the container, when the API could provide them.
      type: list
      elements: str
    storage:
      description:
        - Why the pod's PersistentVolumeClaims cannot be bound, naming the claim and its StorageClass (the class
          does not exist, or its CSI driver is not installed); empty when nothing storage-side is known wrong.
      type: list
      elements: str
"""

import json
import os
import queue as queue_mod
import threading
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kaapana.platform.plugins.module_utils.k8s_args import K8S_AUTH_ARG_SPEC
from ansible_collections.kaapana.platform.plugins.module_utils.k8s_client import (
    API_ERRORS,
    CONNECT_TIMEOUT,
    K8sClientError,
    api_host,
    describe_api_error,
    get_api_client,
    require_kubernetes,
)
from ansible_collections.kaapana.platform.plugins.module_utils.pod_watch import (
    MSG_EVENT,
    MSG_FATAL,
    MSG_RECONNECT,
    MSG_RELIST,
    ScopeWatcher,
    short_error,
)
from ansible_collections.kaapana.platform.plugins.module_utils.pods import (
    PROBLEM_CRASH_LOOP,
    PROBLEM_IMAGE_PULL,
    PROBLEM_UNSCHEDULABLE,
    PodTracker,
    container_has_run,
    describe_bad_pod,
    fatal_message,
    format_event,
    needs_csi_driver,
    pod_claims,
    plan_scopes,
    recent_events,
    storage_problem,
    tail_lines,
    validate_patterns,
)

try:
    from kubernetes import client as k8s_client
except ImportError:
    k8s_client = None  # reported by require_kubernetes()

LIST_READ_TIMEOUT = 120
WATCH_SECONDS = 290
DIAG_PODS = 5
DIAG_BUDGET = 20.0
DIAG_TIMEOUT = (5, 10)
PROGRESS_MIN_INTERVAL = 1.0
PROGRESS_HEARTBEAT = 5.0
LOG_INTERVAL = 30.0
JOB_RECHECK = 10.0
MAX_BATCH = 20000
# Waits before retrying the first list when the API server does not answer at all (it may be restarting,
# which takes half a minute on a busy node): about 60 s in all, never past the timeout, before
# "cannot reach the Kubernetes API server".
STARTUP_RETRY_DELAYS = (1, 2, 4, 8, 15, 15, 15)


def argument_spec():
    spec = dict(
        namespaces=dict(type='list', elements='str', default=[]),
        label_selector=dict(type='str'),
        state=dict(type='str', choices=['ready', 'absent'], default='ready'),
        timeout=dict(type='int', default=600),
        min_pods=dict(type='int', default=0),
        settle=dict(type='int', default=0),
        fail_fast=dict(type='bool', default=True),
        image_pull_grace=dict(type='int', default=60),
        crash_loop_grace=dict(type='int', default=120),
        unschedulable_grace=dict(type='int', default=120),
        progress_file=dict(type='path'),
    )
    spec.update(K8S_AUTH_ARG_SPEC)
    return spec


def validate_params(params):
    """Errors in the parameters, checked before any API request."""
    errors = validate_patterns(params['namespaces'])
    for name in ('timeout', 'min_pods', 'settle', 'image_pull_grace', 'crash_loop_grace', 'unschedulable_grace'):
        if params[name] < 0:
            errors.append('%s must be 0 or more, got %d' % (name, params[name]))
    if params['settle'] > params['timeout'] >= 0:
        errors.append('settle (%d) must not exceed timeout (%d)' % (params['settle'], params['timeout']))
    if params['state'] == 'absent' and params['min_pods']:
        errors.append('min_pods cannot be used with state=absent')
    if params['progress_file']:
        parent = os.path.dirname(os.path.abspath(params['progress_file']))
        if not os.path.isdir(parent):
            errors.append('progress_file: directory %s does not exist' % parent)
    return errors


def _read_json(resp):
    try:
        data = resp.data
    finally:
        try:
            resp.release_conn()
        except Exception:  # pylint: disable=broad-except
            pass
    if isinstance(data, bytes):
        data = data.decode('utf-8')
    return json.loads(data)


def _read_text(resp):
    try:
        data = resp.data
    finally:
        try:
            resp.release_conn()
        except Exception:  # pylint: disable=broad-except
            pass
    return data


class PodsReady:
    """One run of the module: connect, list, watch, decide, report."""

    def __init__(self, module, clock=time.monotonic):
        self.module = module
        self.clock = clock
        self.t0 = clock()
        p = module.params
        self.params = p
        self.label_selector = p['label_selector'] or None
        self.scopes = plan_scopes(p['namespaces'])
        self.tracker = PodTracker(
            patterns=p['namespaces'], state=p['state'], min_pods=p['min_pods'], settle=p['settle'],
            fail_fast=p['fail_fast'], now=self.t0,
            graces={PROBLEM_IMAGE_PULL: p['image_pull_grace'], PROBLEM_CRASH_LOOP: p['crash_loop_grace'],
                    PROBLEM_UNSCHEDULABLE: p['unschedulable_grace']})
        self.deadline = self.t0 + p['timeout']
        self.queue = queue_mod.Queue()
        self.stop = threading.Event()
        self.watchers = []
        self.reconnects = 0
        self.relists = 0
        self.warnings = []
        self.api_client = None
        self.counter = None
        self.host = None
        self.core = None
        self.batch = None
        self.storage = None
        self._progress_written = None
        self._progress_changes = None
        self._progress_warned = False
        self._logged = self.t0
        self.startup_retries = 0
        self.sleep = time.sleep

    # -- API calls -----------------------------------------------------------------------

    def connect(self):
        try:
            self.api_client, self.counter = get_api_client(self.params['kubeconfig'], self.params['context'])
        except K8sClientError as exc:
            self.finish_error(str(exc))
        self.host = api_host(self.api_client)
        self.core = k8s_client.CoreV1Api(self.api_client)
        self.batch = k8s_client.BatchV1Api(self.api_client)
        self.storage = k8s_client.StorageV1Api(self.api_client)

    def _scope_call(self, scope, **kwargs):
        if self.label_selector:
            kwargs['label_selector'] = self.label_selector
        kwargs['_preload_content'] = False
        if scope is None:
            return self.core.list_pod_for_all_namespaces(**kwargs)
        return self.core.list_namespaced_pod(scope, **kwargs)

    def list_scope(self, scope):
        data = _read_json(self._scope_call(scope, _request_timeout=(CONNECT_TIMEOUT, LIST_READ_TIMEOUT)))
        return data.get('items') or [], (data.get('metadata') or {}).get('resourceVersion')

    def watch_scope(self, scope, resource_version, timeout_seconds):
        return self._scope_call(scope, watch=True, resource_version=resource_version, allow_watch_bookmarks=True,
                                timeout_seconds=timeout_seconds,
                                _request_timeout=(CONNECT_TIMEOUT, timeout_seconds + 30))

    def list_namespaces(self):
        """Names of all namespaces, or None when the credentials may not list them (403)."""
        try:
            data = _read_json(self.core.list_namespace(_preload_content=False,
                                                       _request_timeout=(CONNECT_TIMEOUT, LIST_READ_TIMEOUT)))
        except API_ERRORS as exc:
            if getattr(exc, 'status', None) == 403:
                return None
            raise
        return [(i.get('metadata') or {}).get('name') for i in data.get('items') or []]

    def lookup_jobs(self, now):
        for ref in self.tracker.jobs_to_check(now, interval=JOB_RECHECK):
            try:
                job = _read_json(self.batch.read_namespaced_job(ref[1], ref[0], _preload_content=False,
                                                                _request_timeout=DIAG_TIMEOUT))
            except Exception as exc:  # pylint: disable=broad-except
                if getattr(exc, 'status', None) == 404:
                    job = None
                else:
                    # Unknown for now: keep the pod waiting and look again later.
                    self.tracker.job_checked[ref] = now
                    self.warnings.append('could not read Job %s/%s: %s' % (ref[0], ref[1], short_error(exc)))
                    continue
            self.tracker.set_job(ref, job, now)

    def _read_or_none(self, call, *args):
        """The object as a dict, None when the API says 404; other errors raise."""
        try:
            return _read_json(call(*args, _preload_content=False, _request_timeout=DIAG_TIMEOUT))
        except Exception as exc:  # pylint: disable=broad-except
            if getattr(exc, 'status', None) == 404:
                return None
            raise

    def storage_problems(self, rec, budget_end, cache):
        """Why the pending pod's PVCs cannot be bound: a missing StorageClass or one whose CSI driver is absent."""
        if rec['cls'].get('state') == 'ready' or self.storage is None:
            return []
        problems = []
        ns = rec['namespace']
        for claim in pod_claims(rec['pod'])[:DIAG_PODS]:
            if self.clock() >= budget_end:
                break
            try:
                pvc = self._read_or_none(self.core.read_namespaced_persistent_volume_claim, claim, ns)
                bound = pvc is not None and (pvc.get('status') or {}).get('phase') == 'Bound'
                class_name = (pvc or {}).get('spec', {}).get('storageClassName') if pvc else None
                storage_class = driver = None
                if pvc is not None and not bound and class_name:
                    key = ('class', class_name)
                    if key not in cache:
                        cache[key] = self._read_or_none(self.storage.read_storage_class, class_name)
                    storage_class = cache[key]
                    provisioner = (storage_class or {}).get('provisioner') or ''
                    if storage_class is not None and needs_csi_driver(provisioner):
                        key = ('driver', provisioner)
                        if key not in cache:
                            cache[key] = self._read_or_none(self.storage.read_csi_driver, provisioner) is not None
                        driver = cache[key]
                problem = storage_problem(ns, claim, pvc, storage_class, driver)
            except Exception as exc:  # pylint: disable=broad-except
                self.warnings.append('could not read PVC %s/%s or its StorageClass: %s' % (ns, claim, short_error(exc)))
                continue
            if problem:
                problems.append(problem)
        return problems

    def diagnose(self, records, budget_end):
        """Recent Events and last log lines for up to DIAG_PODS pods, within the time budget."""
        out = {}
        cache = {}
        for rec in records[:DIAG_PODS]:
            if self.clock() >= budget_end:
                break
            diag = {}
            storage = self.storage_problems(rec, budget_end, cache)
            if storage:
                diag['storage'] = storage
            ns, name = rec['namespace'], rec['name']
            selector = 'involvedObject.name=%s,involvedObject.namespace=%s' % (name, ns)
            uid = (rec['pod'].get('metadata') or {}).get('uid')
            if uid:
                selector += ',involvedObject.uid=%s' % uid
            try:
                data = _read_json(self.core.list_namespaced_event(ns, field_selector=selector, _preload_content=False,
                                                                  _request_timeout=DIAG_TIMEOUT))
                diag['events'] = recent_events(data.get('items') or [], 5)
            except Exception as exc:  # pylint: disable=broad-except
                diag['events_error'] = short_error(exc)
            container = rec['cls'].get('container')
            if container and container_has_run(rec['pod'], container) and self.clock() < budget_end:
                cname = container[5:] if container.startswith('init:') else container
                previous = rec['cls'].get('reason') == 'CrashLoopBackOff'
                try:
                    text = _read_text(self.core.read_namespaced_pod_log(
                        name, ns, container=cname, tail_lines=10, previous=previous, _preload_content=False,
                        _request_timeout=DIAG_TIMEOUT))
                    diag['logs'] = tail_lines(text, 10)
                    diag['log_source'] = '%s%s' % (cname, ', previous run' if previous else '')
                    if not diag['logs']:
                        diag['log_error'] = 'empty'
                except Exception as exc:  # pylint: disable=broad-except
                    diag['log_error'] = 'not available (%s)' % describe_api_error(exc, self.host)
            out[rec['key']] = diag
        return out

    # -- progress ------------------------------------------------------------------------

    def write_progress(self, now, finished=False, failed=False, msg=None, starting=False):
        """Rewrite progress_file when due; return the clock time of the next write (or None).

        ``starting`` writes a first record before connecting (so a stale file of an earlier run
        is replaced at once) without delaying the first real update.
        """
        path = self.params['progress_file']
        elapsed = now - self.t0
        if now - self._logged >= LOG_INTERVAL and not finished:
            self._logged = now
            self.module.log('pods_ready: %s' % self.tracker.progress_line(elapsed))
        if not path:
            return None
        due = (finished or starting or self._progress_written is None
               or now - self._progress_written >= PROGRESS_HEARTBEAT
               or (self.tracker.changes != self._progress_changes
                   and now - self._progress_written >= PROGRESS_MIN_INTERVAL))
        if not due:
            if self.tracker.changes != self._progress_changes:
                return self._progress_written + PROGRESS_MIN_INTERVAL
            return self._progress_written + PROGRESS_HEARTBEAT
        data = self.tracker.progress(now, elapsed, finished=finished, failed=failed, msg=msg)
        data['updated'] = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
        data['pid'] = os.getpid()
        tmp = '%s.%d.tmp' % (path, os.getpid())
        try:
            with open(tmp, 'w') as fh:
                json.dump(data, fh)
            os.rename(tmp, path)
        except (IOError, OSError) as exc:
            if not self._progress_warned:
                self._progress_warned = True
                self.warnings.append('cannot write progress_file %s: %s' % (path, exc))
        if starting:
            return None
        self._progress_written = now
        self._progress_changes = self.tracker.changes
        return now + PROGRESS_HEARTBEAT

    # -- the wait ------------------------------------------------------------------------

    def start_watchers(self, versions):
        for scope in (self.scopes if self.scopes is not None else [None]):
            watcher = ScopeWatcher(scope, self.list_scope, self.watch_scope, versions[scope], self.queue, self.stop,
                                   watch_seconds=WATCH_SECONDS)
            watcher.start()
            self.watchers.append(watcher)

    def stop_watchers(self):
        self.stop.set()
        for watcher in self.watchers:
            watcher.close()

    def handle(self, msg, now):
        kind, scope = msg[0], msg[1]
        if kind == MSG_EVENT:
            self.tracker.apply_event(msg[2], msg[3], now, scope)
        elif kind == MSG_RELIST:
            self.relists += 1
            self.tracker.resync(scope, msg[2], now)
        elif kind == MSG_RECONNECT:
            self.reconnects += 1
        elif kind == MSG_FATAL:
            self.finish_error('watching pods failed: %s' % describe_api_error(msg[2], self.host))

    def run(self):
        self.write_progress(self.t0, msg='connecting to the Kubernetes API', starting=True)
        self.connect()
        # Everything that can fail for reasons of configuration fails here, before any waiting.
        existing = None
        versions = {}
        delays = list(STARTUP_RETRY_DELAYS)
        while True:
            try:
                existing = self.list_namespaces()
                versions = {}
                for scope in (self.scopes if self.scopes is not None else [None]):
                    items, versions[scope] = self.list_scope(scope)
                    self.tracker.resync(scope, items, self.clock())
                break
            except API_ERRORS as exc:
                # No answer at all (connection refused/reset, timeout) may be an API server that is restarting:
                # a few seconds of retries, then the clear error. Any HTTP answer (401, 403, ...) fails at once.
                if getattr(exc, 'status', None) or not delays or self.clock() + delays[0] > self.deadline:
                    self.finish_error(describe_api_error(exc, self.host))
                self.startup_retries += 1
                self.sleep(delays.pop(0))
        if existing is not None:
            self.tracker.set_namespaces(existing)
            for name in self.scopes or []:
                if name not in existing:
                    self.warnings.append('namespace %s does not exist (yet)' % name)
        self.lookup_jobs(self.clock())

        started = False
        while True:
            now = self.clock()
            decision = self.tracker.evaluate(now)
            if decision.status == 'done':
                self.finish_ok(now)
            if decision.status == 'fail':
                self.finish_fail(now, decision)
            if now >= self.deadline:
                self.finish_timeout(now, decision)
            if not started:
                self.start_watchers(versions)
                started = True
            wake = [self.deadline]
            if decision.wake_at is not None:
                wake.append(decision.wake_at)
            job_check = self.tracker.next_job_check(JOB_RECHECK)
            if job_check is not None:
                wake.append(job_check)
            next_progress = self.write_progress(now)
            if next_progress is not None:
                wake.append(next_progress)
            if not self.params['progress_file']:
                wake.append(self._logged + LOG_INTERVAL)
            try:
                batch = [self.queue.get(timeout=max(0.0, min(wake) - now))]
            except queue_mod.Empty:
                batch = []
            while batch and len(batch) < MAX_BATCH:
                try:
                    batch.append(self.queue.get_nowait())
                except queue_mod.Empty:
                    break
            now = self.clock()
            for msg in batch:
                self.handle(msg, now)
            self.lookup_jobs(now)

    # -- results -------------------------------------------------------------------------

    def result(self, now, msg):
        ready, total = self.tracker.totals()
        return dict(
            changed=False,
            msg=msg,
            ready=ready if self.params['state'] == 'ready' else 0,
            total=total,
            pods=self.tracker.counts(),
            not_ready=self.tracker.not_ready(now),
            slowest=self.tracker.slowest(),
            elapsed=round(now - self.t0, 2),
            api_requests=self.counter.count if self.counter else 0,
            namespaces=self.tracker.namespaces(),
            reconnects=self.reconnects,
            relists=self.relists,
        )

    def _exit(self):
        self.stop_watchers()
        for warning in self.warnings:
            self.module.warn(warning)

    def finish_ok(self, now):
        ready, total = self.tracker.totals()
        n_ns = len(self.tracker.namespaces())
        if self.params['state'] == 'absent':
            msg = 'no matching pods left after %.1fs' % (now - self.t0)
        else:
            msg = '%d/%d pods ready in %d namespace%s after %.1fs' % (
                ready, total, n_ns, '' if n_ns == 1 else 's', now - self.t0)
        self.write_progress(now, finished=True, msg=msg)
        result = self.result(now, msg)
        self._exit()
        self.module.exit_json(**result)

    def _failed_pods(self, records, diagnostics):
        out = []
        for rec in records[:DIAG_PODS]:
            diag = diagnostics.get(rec['key']) or {}
            cls = rec['cls']
            out.append(dict(namespace=rec['namespace'], name=rec['name'], container=cls.get('container'),
                            reason=cls.get('reason'), message=cls.get('message') or '',
                            storage=diag.get('storage') or [],
                            events=[format_event(e) for e in diag.get('events') or []],
                            logs=diag.get('logs') or []))
        return out

    def finish_fail(self, now, decision):
        if decision.reason == 'fatal_pods':
            records = decision.fatal
            diagnostics = self.diagnose(records, self.clock() + DIAG_BUDGET)
            msg = fatal_message(records, now, diagnostics)
            if len(records) > DIAG_PODS:
                msg += '\n(diagnostics for the first %d pods only)' % DIAG_PODS
            failed_pods = self._failed_pods(records, diagnostics)
        else:
            msg = decision.message
            failed_pods = []
        self._fail(now, msg, failed_pods)

    def finish_timeout(self, now, decision):
        elapsed = now - self.t0
        line = self.tracker.progress_line(elapsed)
        if self.params['state'] == 'absent':
            head = 'timed out after %ds waiting for pods to go away: %s' % (self.params['timeout'], line)
        elif decision.reason == 'min_pods':
            head = 'timed out after %ds: %s' % (self.params['timeout'], decision.message)
        elif decision.reason == 'settle':
            head = 'timed out after %ds before the pods had been ready for settle=%ds: %s' % (
                self.params['timeout'], self.params['settle'], line)
        else:
            head = 'timed out after %ds: %s' % (self.params['timeout'], line)
        keys = [(i['namespace'], i['name']) for i in self.tracker.not_ready(now, limit=DIAG_PODS)]
        records = [r for r in self.tracker.pods.values() if (r['namespace'], r['name']) in keys]
        records.sort(key=lambda r: keys.index((r['namespace'], r['name'])))
        lines = [head]
        failed_pods = []
        if records and self.params['state'] == 'ready':
            diagnostics = self.diagnose(records, self.clock() + DIAG_BUDGET)
            lines.append('not ready:')
            for rec in records:
                lines.extend(describe_bad_pod(rec, now, diagnostics.get(rec['key'])))
            failed_pods = self._failed_pods(records, diagnostics)
        elif records:
            lines.append('left: %s' % ', '.join('%s/%s (%s)' % (r['namespace'], r['name'], r['cls']['reason'])
                                                for r in records))
        remaining = len(self.tracker.not_ready(now, limit=100000)) - len(records)
        if remaining > 0:
            lines.append('... and %d more (see not_ready)' % remaining)
        self._fail(now, '\n'.join(lines), failed_pods)

    def finish_error(self, msg):
        now = self.clock()
        self._fail(now, msg, [])

    def _fail(self, now, msg, failed_pods):
        self.write_progress(now, finished=True, failed=True, msg=msg.splitlines()[0])
        result = self.result(now, msg)
        result['failed_pods'] = failed_pods
        self._exit()
        self.module.fail_json(**result)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    require_kubernetes(module)
    errors = validate_params(module.params)
    if errors:
        module.fail_json(msg='invalid parameters: %s' % '; '.join(errors))
    runner = PodsReady(module)
    try:
        runner.run()
    except Exception as exc:
        # An unexpected error: still mark progress_file finished, so a status loop stops.
        runner.write_progress(runner.clock(), finished=True, failed=True, msg='pods_ready failed: %s' % exc)
        raise


if __name__ == '__main__':
    main()
