# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Unit tests for plugins/module_utils/pod_watch.py: list+watch, reconnects and 410 handling with fakes."""

import json
import queue
import threading

from ansible_collections.kaapana.platform.plugins.module_utils import pod_watch as W


class ApiError(Exception):
    def __init__(self, status, reason=''):
        super(ApiError, self).__init__('%s %s' % (status, reason))
        self.status = status
        self.reason = reason


def ev(etype, name, rv, **extra):
    obj = {'metadata': {'name': name, 'namespace': 'ns', 'uid': name, 'resourceVersion': str(rv)}}
    obj.update(extra)
    return json.dumps({'type': etype, 'object': obj}) + '\n'


def error_event(code):
    return json.dumps({'type': 'ERROR', 'object': {'kind': 'Status', 'code': code, 'message': 'too old'}}) + '\n'


class FakeResp:
    """A streaming response: yields its chunks, then ends (or blocks until closed when ``hang``)."""

    def __init__(self, chunks, hang=False):
        self.chunks = chunks
        self.hang = hang
        self.closed = threading.Event()

    def stream(self, **kwargs):
        for chunk in self.chunks:
            yield chunk.encode('utf-8') if isinstance(chunk, str) else chunk
        if self.hang:
            self.closed.wait(5)

    def close(self):
        self.closed.set()

    def release_conn(self):
        pass

    def shutdown(self):
        self.closed.set()


class FakeApi:
    """Scripted list and watch calls; each script item is a FakeResp, an exception, or a list result."""

    def __init__(self, watches, lists=()):
        self.watches = list(watches)
        self.lists = list(lists)
        self.watch_calls = []
        self.list_calls = []
        self.done = threading.Event()

    def list_fn(self, scope):
        self.list_calls.append(scope)
        item = self.lists.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def watch_fn(self, scope, rv, timeout_seconds):
        self.watch_calls.append((scope, rv, timeout_seconds))
        if not self.watches:
            self.done.set()
            return FakeResp([], hang=True)
        item = self.watches.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


def run_watcher(api, rv='10', scope='ns', wait_for=None):
    out = queue.Queue()
    stop = threading.Event()
    w = W.ScopeWatcher(scope, api.list_fn, api.watch_fn, rv, out, stop, watch_seconds=7,
                       backoff_start=0.01, backoff_max=0.02)
    w.start()
    if wait_for is None:
        assert api.done.wait(5), 'watcher did not consume its script'
    else:
        wait_for(w)
    w.close()
    w.join(5)
    assert not w.is_alive()
    msgs = []
    while not out.empty():
        msgs.append(out.get_nowait())
    return msgs, w


def test_iter_lines_joins_partial_chunks():
    chunks = [b'{"a":', b'1}\n{"b"', b':2}\n\n', '{"c":3}']
    assert list(W.iter_lines(chunks)) == ['{"a":1}', '{"b":2}', '{"c":3}']


def test_events_are_forwarded_and_bookmarks_move_the_resource_version():
    api = FakeApi([FakeResp([ev('ADDED', 'a', 11), ev('BOOKMARK', '', 15), ev('MODIFIED', 'a', 16)])])
    msgs, w = run_watcher(api)
    assert [(m[0], m[2], m[3]['metadata']['name']) for m in msgs if m[0] == W.MSG_EVENT] == [
        ('event', 'ADDED', 'a'), ('event', 'MODIFIED', 'a')]
    # the stream ended: reopened from the last resourceVersion seen
    assert api.watch_calls == [('ns', '10', 7), ('ns', '16', 7)]
    assert [m[0] for m in msgs].count(W.MSG_RECONNECT) == 1


def test_bookmark_only_stream_still_moves_the_resource_version():
    api = FakeApi([FakeResp([ev('BOOKMARK', '', 20)])])
    run_watcher(api)
    assert api.watch_calls[1][1] == '20'


def test_error_event_410_lists_again_and_watches_from_the_new_version():
    api = FakeApi([FakeResp([ev('ADDED', 'a', 11), error_event(410)])],
                  lists=[([{'metadata': {'name': 'b'}}], '50')])
    msgs, w = run_watcher(api)
    relists = [m for m in msgs if m[0] == W.MSG_RELIST]
    assert len(relists) == 1 and relists[0][2] == [{'metadata': {'name': 'b'}}] and relists[0][3] == '50'
    assert api.list_calls == ['ns']
    assert api.watch_calls[1][1] == '50'


def test_http_410_lists_again():
    api = FakeApi([ApiError(410, 'Gone')], lists=[([], '60')])
    msgs, w = run_watcher(api)
    assert [m[0] for m in msgs if m[0] == W.MSG_RELIST] == [W.MSG_RELIST]
    assert api.watch_calls[-1][1] == '60'


def test_dropped_connection_reconnects_from_last_version_with_backoff():
    api = FakeApi([FakeResp([ev('ADDED', 'a', 11)]), ConnectionResetError('reset by peer'),
                   ApiError(503, 'Service Unavailable'), FakeResp([ev('MODIFIED', 'a', 12)])])
    msgs, w = run_watcher(api)
    assert [c[1] for c in api.watch_calls] == ['10', '11', '11', '11', '12']
    reconnects = [m[2] for m in msgs if m[0] == W.MSG_RECONNECT]
    assert any('ConnectionResetError' in r for r in reconnects)
    assert any('503' in r for r in reconnects)
    assert api.list_calls == []


def test_relist_failure_is_retried():
    api = FakeApi([ApiError(410)], lists=[OSError('connection refused'), ([], '70')])
    msgs, w = run_watcher(api)
    assert api.list_calls == ['ns', 'ns']
    assert api.watch_calls[-1][1] == '70'


def test_forbidden_is_fatal():
    api = FakeApi([ApiError(403, 'Forbidden')])

    def wait(w):
        w.join(5)

    msgs, w = run_watcher(api, wait_for=wait)
    assert msgs[-1][0] == W.MSG_FATAL and msgs[-1][2].status == 403


def test_other_error_event_reconnects():
    api = FakeApi([FakeResp([error_event(500)])])
    msgs, w = run_watcher(api)
    assert any('500' in m[2] for m in msgs if m[0] == W.MSG_RECONNECT)
    assert api.watch_calls[1][1] == '10'


def test_close_interrupts_a_quiet_watch():
    resp = FakeResp([ev('ADDED', 'a', 11)], hang=True)
    api = FakeApi([resp])
    seen = threading.Event()

    def wait(w):
        for dummy in range(100):
            if api.watch_calls:
                seen.set()
                break
            threading.Event().wait(0.01)

    msgs, w = run_watcher(api, wait_for=wait)
    assert seen.is_set() and resp.closed.is_set()
    assert len(api.watch_calls) == 1


def test_short_error():
    assert W.short_error(ApiError(500, 'Internal ')) == '500 Internal'
    assert W.short_error(ValueError('bad\nmore')) == 'ValueError: bad'
    assert W.error_status(ValueError()) is None
