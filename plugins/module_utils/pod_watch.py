# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""List+watch machinery for ``kaapana.platform.pods_ready``.

One :class:`ScopeWatcher` thread per scope (all namespaces, or one namespace) keeps a watch
open from a known resourceVersion and puts what it sees on a queue for the module's main
loop, which owns all state and timers (so a grace period or the settle time can end while
the watch is quiet, without polling the API). The watcher:

* reconnects from the last resourceVersion it saw (events and BOOKMARKs) when the
  connection drops, the server ends the watch (``timeoutSeconds``), or the API server
  restarts, with a capped backoff between failed attempts;
* on ``410 Gone`` (the resourceVersion is too old, as an HTTP status or an ERROR event)
  lists again and hands the fresh list to the main loop, then watches from the new
  resourceVersion;
* gives up only on errors that retrying cannot fix (401, 403, 404), reported as ``fatal``.

The request functions are injected (``list_fn(scope)`` returning ``(items, resourceVersion)``
and ``watch_fn(scope, resource_version, timeout_seconds)`` returning a streaming response
with ``stream()``/``close()``), so this file does not import the kubernetes client and can be
tested with fakes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import threading

MSG_EVENT = 'event'
MSG_RELIST = 'relist'
MSG_RECONNECT = 'reconnect'
MSG_FATAL = 'fatal'

FATAL_STATUSES = frozenset([400, 401, 403, 404, 422])


def iter_lines(chunks):
    """Split a stream of byte (or str) chunks into decoded lines, keeping partial lines buffered."""
    buf = b''
    for chunk in chunks:
        if not chunk:
            continue
        if not isinstance(chunk, bytes):
            chunk = chunk.encode('utf-8')
        buf += chunk
        while True:
            nl = buf.find(b'\n')
            if nl < 0:
                break
            line = buf[:nl]
            buf = buf[nl + 1:]
            if line.strip():
                yield line.decode('utf-8', 'replace')
    if buf.strip():
        yield buf.decode('utf-8', 'replace')


def error_status(exc):
    """HTTP status of an ApiException-like error, or None."""
    status = getattr(exc, 'status', None)
    return status if isinstance(status, int) else None


def short_error(exc):
    """One line describing ``exc`` (an ApiException's status and reason, or the exception)."""
    status = error_status(exc)
    if status:
        return '%s %s' % (status, (getattr(exc, 'reason', '') or '').strip())
    text = str(exc).strip().splitlines()
    return '%s: %s' % (type(exc).__name__, text[0] if text else '')


class GoneError(Exception):
    """The watch's resourceVersion expired (HTTP 410 or an ERROR event with code 410)."""


class WatchEventError(Exception):
    """An ERROR event other than 410 on the watch stream."""

    def __init__(self, code, message):
        super(WatchEventError, self).__init__('%s %s' % (code, message))
        self.status = code
        self.reason = message


class ScopeWatcher(threading.Thread):
    """Watch one scope from ``resource_version`` and report to ``out`` (a queue).

    Messages (tuples): ``('event', scope, type, object)`` for ADDED/MODIFIED/DELETED,
    ``('relist', scope, items, resource_version)`` after a 410, ``('reconnect', scope,
    reason)`` each time the watch is opened again, ``('fatal', scope, exception)`` when
    retrying is pointless; the thread then ends.
    """

    def __init__(self, scope, list_fn, watch_fn, resource_version, out, stop_event,
                 watch_seconds=290, backoff_start=0.5, backoff_max=5.0):
        super(ScopeWatcher, self).__init__(name='pods-watch-%s' % (scope or '*'))
        self.daemon = True
        self.scope = scope
        self.list_fn = list_fn
        self.watch_fn = watch_fn
        self.resource_version = resource_version
        self.out = out
        self.stop_event = stop_event
        self.watch_seconds = watch_seconds
        self.backoff_start = backoff_start
        self.backoff_max = backoff_max
        self._resp = None
        self._lock = threading.Lock()
        self._why = 'starting'

    # -- main loop ---------------------------------------------------------------------

    def run(self):
        backoff = self.backoff_start
        first = True
        while not self.stop_event.is_set():
            try:
                if self.resource_version is None:
                    items, rv = self.list_fn(self.scope)
                    if self.stop_event.is_set():
                        return
                    self.resource_version = rv
                    self.out.put((MSG_RELIST, self.scope, items, rv))
                if not first:
                    self.out.put((MSG_RECONNECT, self.scope, self._why))
                first = False
                got_events = self._watch_once()
                self._why = 'watch ended'
                if got_events:
                    backoff = self.backoff_start
                else:
                    # An empty watch: do not spin if the server keeps ending watches at once.
                    self.stop_event.wait(backoff)
                    backoff = min(backoff * 2, self.backoff_max)
            except GoneError:
                self.resource_version = None
                self._why = '410 Gone: resourceVersion expired, listing again'
                continue
            except Exception as exc:  # pylint: disable=broad-except
                if self.stop_event.is_set():
                    return
                status = error_status(exc)
                if status == 410:
                    self.resource_version = None
                    self._why = '410 Gone: resourceVersion expired, listing again'
                    continue
                if status in FATAL_STATUSES:
                    self.out.put((MSG_FATAL, self.scope, exc))
                    return
                self._why = short_error(exc)
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, self.backoff_max)

    def _watch_once(self):
        """Open one watch and consume it; True when at least one event arrived."""
        got = False
        resp = self.watch_fn(self.scope, self.resource_version, self.watch_seconds)
        with self._lock:
            self._resp = resp
        try:
            if self.stop_event.is_set():
                return got
            for line in iter_lines(resp.stream()):
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                etype = event.get('type')
                obj = event.get('object') or {}
                if etype == 'ERROR':
                    code = obj.get('code')
                    if code == 410:
                        raise GoneError(obj.get('message'))
                    raise WatchEventError(code, obj.get('message') or obj.get('reason') or '')
                rv = (obj.get('metadata') or {}).get('resourceVersion')
                if rv:
                    self.resource_version = rv
                got = True
                if etype in ('ADDED', 'MODIFIED', 'DELETED'):
                    self.out.put((MSG_EVENT, self.scope, etype, obj))
                if self.stop_event.is_set():
                    break
        finally:
            with self._lock:
                self._resp = None
            _close(resp)
        return got

    def close(self):
        """Stop: end the current watch request so the thread does not wait for the next event."""
        self.stop_event.set()
        with self._lock:
            resp = self._resp
        if resp is not None:
            _shutdown(resp)


def _close(resp):
    for name in ('close', 'release_conn'):
        fn = getattr(resp, name, None)
        if fn is not None:
            try:
                fn()
            except Exception:  # pylint: disable=broad-except
                pass


def _shutdown(resp):
    """Interrupt a blocked read on ``resp`` (urllib3 response) from another thread."""
    fn = getattr(resp, 'shutdown', None)  # urllib3 >= 2.3
    if fn is not None:
        try:
            fn()
            return
        except Exception:  # pylint: disable=broad-except
            pass
    try:
        import socket
        sock = resp.connection.sock
        sock.shutdown(socket.SHUT_RDWR)
    except Exception:  # pylint: disable=broad-except
        pass
