# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Backups of Kaapana's data directories for the ``kaapana.platform.data_backup`` module (stdlib only).

A backup is the folder ``<root>/<name>``::

    <root>/<name>/manifest.json      what was backed up (format version 1), 0600
    <root>/<name>/SHA256SUMS         "<sha256>  <label>/<relpath>" per regular file, sorted, 0600
    <root>/<name>/<label>/...        a copy of each source directory (modes, mtimes, owners, symlinks)

It is written as ``<root>/<name>.partial``, verified (every copied file re-read and compared with the hash
of the bytes read from the source, and the source re-hashed to catch data that changed during the copy)
and only then renamed to ``<root>/<name>``. Nothing here deletes data other than our own incomplete copies
(a ``.partial`` folder, a ``.restoring-*`` folder of a failed restore); a restore moves the current data
aside to ``<dir>.replaced-<UTC timestamp>``.

Vocabulary: a *tree* is ``{relpath: (kind, value)}`` for everything below a directory (``relpath`` with ``/``,
the directory itself not included), ``kind`` one of ``dir``, ``file`` (value: sha256 hex) and ``symlink``
(value: the link's target). Special files (sockets, fifos, devices) are never copied nor compared.

Failures raise :class:`BackupError` with a message for the user and the result keys known so far.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import json
import os
import re
import shutil
import stat

FORMAT_VERSION = 1
CHUNK = 1024 * 1024
MANIFEST = 'manifest.json'
SUMS = 'SHA256SUMS'
PARTIAL = '.partial'
SHOWN = 20
IN_MESSAGE = 5
GIB = float(1024 ** 3)

NAME_RE = re.compile(r'^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$')
LABEL_RE = re.compile(r'^[a-z0-9_-]+$')
HEX_RE = re.compile(r'^[0-9a-f]{64}$')

T_DIR = 'dir'
T_FILE = 'file'
T_LINK = 'symlink'
T_SPECIAL = 'special'

O_NOFOLLOW = getattr(os, 'O_NOFOLLOW', 0)


class BackupError(Exception):
    """A failure to report: ``str(exc)`` is the message, ``exc.result`` the result keys known so far."""

    def __init__(self, msg, **result):
        super(BackupError, self).__init__(msg)
        self.msg = msg
        self.result = result


# --------------------------------------------------------------------------------------
# Hooks (module-level so that tests can replace them)
# --------------------------------------------------------------------------------------

def statvfs(path):
    """``os.statvfs``; the one place free space is read."""
    return os.statvfs(path)


def utcnow():
    return datetime.datetime.now(tz=datetime.timezone.utc)


def after_copy(src_path):
    """Called after each regular file has been copied (a test hook; does nothing)."""
    return None


def is_root():
    return os.geteuid() == 0


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------

def name_error(name):
    """Why ``name`` is not a valid backup name, or None."""
    if not isinstance(name, str) or not name:
        return 'name must be a non-empty string'
    if len(name) > 100:
        return 'name %r is longer than 100 characters' % name
    if name.startswith('.'):
        return 'name %r must not start with "."' % name
    if not NAME_RE.match(name):
        return 'name %r may only contain letters, digits, ".", "_" and "-"' % name
    if name.endswith(PARTIAL):
        return 'name %r must not end with "%s" (the suffix of incomplete backups)' % (name, PARTIAL)
    return None


def label_errors(sources, option='sources'):
    """Problems with the labels and paths of a sources dict (no file system access)."""
    errors = []
    if not isinstance(sources, dict):
        return ['%s must be a dict of label: directory' % option]
    for label in sorted(sources, key=str):
        path = sources[label]
        if not isinstance(label, str) or not LABEL_RE.match(label):
            errors.append('%s: label %r may only contain a-z, 0-9, "_" and "-"' % (option, label))
        if not isinstance(path, str) or not path:
            errors.append('%s.%s must be a directory path, got %r' % (option, label, path))
        elif not os.path.isabs(os.path.expanduser(path)):
            errors.append('%s.%s must be an absolute path, got %s' % (option, label, path))
    return errors


def _inside(path, parent):
    """Whether ``path`` is ``parent`` or below it (both real paths)."""
    return path == parent or path.startswith(parent.rstrip('/') + '/')


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------

def show(relpath):
    """A relpath as text for messages and results (undecodable bytes as backslash escapes)."""
    return os.fsencode(relpath).decode('utf-8', 'backslashreplace')


def gib(nbytes):
    return '%.2f GiB' % (nbytes / GIB)


def kind_of(mode):
    if stat.S_ISDIR(mode):
        return T_DIR
    if stat.S_ISREG(mode):
        return T_FILE
    if stat.S_ISLNK(mode):
        return T_LINK
    return T_SPECIAL


def special_kind(mode):
    if stat.S_ISSOCK(mode):
        return 'socket'
    if stat.S_ISFIFO(mode):
        return 'fifo'
    if stat.S_ISCHR(mode):
        return 'character device'
    if stat.S_ISBLK(mode):
        return 'block device'
    return 'unknown'


def _err(what, path, exc):
    return BackupError('%s %s: %s' % (what, path, getattr(exc, 'strerror', None) or exc))


def existing_ancestor(path):
    path = os.path.abspath(path)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def free_bytes(path):
    """Bytes available to unprivileged users on the file system of ``path`` (or its nearest existing ancestor)."""
    st = statvfs(existing_ancestor(path))
    return st.f_bavail * st.f_frsize


def timestamp(now=None):
    return (now or utcnow()).strftime('%Y%m%dT%H%M%SZ')


def unique_path(base):
    """``base``, or ``base-1``, ``base-2``, ... whichever does not exist."""
    candidate = base
    n = 0
    while os.path.lexists(candidate):
        n += 1
        candidate = '%s-%d' % (base, n)
    return candidate


def fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_own(path):
    """Remove a folder this module created (an incomplete copy). Best effort; a symlink is only unlinked."""
    try:
        if os.path.islink(path) or not os.path.isdir(path):
            os.unlink(path)
        else:
            shutil.rmtree(path)
    except OSError:
        pass


def write_private(path, data):
    """Write bytes to a new file with mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


# --------------------------------------------------------------------------------------
# Walking, hashing, copying
# --------------------------------------------------------------------------------------

def walk(root):
    """Yield ``(relpath, lstat)`` for everything below ``root``, parents before children, names sorted.

    Symlinks are reported, never followed. An unreadable directory raises :class:`BackupError`.
    """
    pending = ['']
    while pending:
        rel = pending.pop()
        full = os.path.join(root, rel) if rel else root
        try:
            names = sorted(os.listdir(full))
        except OSError as exc:
            raise _err('cannot list', full, exc)
        subdirs = []
        for name in names:
            child = rel + '/' + name if rel else name
            path = os.path.join(root, child)
            try:
                st = os.lstat(path)
            except OSError as exc:
                raise _err('cannot stat', path, exc)
            yield child, st
            if stat.S_ISDIR(st.st_mode):
                subdirs.append(child)
        pending.extend(reversed(subdirs))


def hash_file(path):
    """sha256 hex of a regular file, read in 1 MiB chunks (a symlink is not followed)."""
    digest = hashlib.sha256()
    try:
        fd = os.open(path, os.O_RDONLY | O_NOFOLLOW)
        try:
            while True:
                buf = os.read(fd, CHUNK)
                if not buf:
                    break
                digest.update(buf)
        finally:
            os.close(fd)
    except OSError as exc:
        raise _err('cannot read', path, exc)
    return digest.hexdigest()


def apply_metadata(path, st, fd=None):
    """Owner (when root), mode (not for symlinks) and atime/mtime of ``st`` onto ``path`` (or the open ``fd``)."""
    link = stat.S_ISLNK(st.st_mode)
    if is_root():
        if fd is not None:
            os.fchown(fd, st.st_uid, st.st_gid)
        else:
            os.lchown(path, st.st_uid, st.st_gid)
    # chmod after chown: chown clears the set-user-ID and set-group-ID bits.
    if not link:
        if fd is not None:
            os.fchmod(fd, stat.S_IMODE(st.st_mode))
        else:
            os.chmod(path, stat.S_IMODE(st.st_mode))
    times = (st.st_atime_ns, st.st_mtime_ns)
    if fd is not None:
        os.utime(fd, ns=times)
    else:
        os.utime(path, ns=times, follow_symlinks=not link)


def copy_file(src, dst, st):
    """Copy one regular file (new ``dst``), its metadata from ``st``; return (sha256 of the bytes read, size)."""
    digest = hashlib.sha256()
    size = 0
    try:
        fin = os.open(src, os.O_RDONLY | O_NOFOLLOW)
    except OSError as exc:
        raise _err('cannot read', src, exc)
    try:
        try:
            fout = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise _err('cannot create', dst, exc)
        try:
            while True:
                try:
                    buf = os.read(fin, CHUNK)
                except OSError as exc:
                    raise _err('cannot read', src, exc)
                if not buf:
                    break
                digest.update(buf)
                size += len(buf)
                try:
                    _write_all(fout, buf)
                except OSError as exc:
                    raise _err('cannot write', dst, exc)
            try:
                apply_metadata(dst, st, fd=fout)
            except OSError as exc:
                raise _err('cannot set owner, mode or times of', dst, exc)
        finally:
            os.close(fout)
    finally:
        os.close(fin)
    return digest.hexdigest(), size


def copy_tree(src_root, dst_root):
    """Copy the content of directory ``src_root`` to the new directory ``dst_root``.

    Returns ``dict(tree=..., files=, bytes=, dirs=, symlinks=, skipped=[{path, type}])``; ``tree`` holds the
    sha256 of the bytes read from each source file. Directory modes, owners and times are applied last
    (children first), so a read-only directory can still be filled.
    """
    try:
        root_st = os.stat(src_root)
    except OSError as exc:
        raise _err('cannot stat', src_root, exc)
    try:
        os.mkdir(dst_root, 0o700)
    except OSError as exc:
        raise _err('cannot create', dst_root, exc)
    dirs = [('', root_st)]
    tree = {}
    out = dict(files=0, bytes=0, dirs=0, symlinks=0, skipped=[])
    for rel, st in walk(src_root):
        src = os.path.join(src_root, rel)
        dst = os.path.join(dst_root, rel)
        kind = kind_of(st.st_mode)
        if kind == T_DIR:
            try:
                os.mkdir(dst, 0o700)
            except OSError as exc:
                raise _err('cannot create', dst, exc)
            dirs.append((rel, st))
            tree[rel] = (T_DIR, None)
            out['dirs'] += 1
        elif kind == T_FILE:
            digest, size = copy_file(src, dst, st)
            tree[rel] = (T_FILE, digest)
            out['files'] += 1
            out['bytes'] += size
            after_copy(src)
        elif kind == T_LINK:
            try:
                target = os.readlink(src)
            except OSError as exc:
                raise _err('cannot read the symlink', src, exc)
            try:
                os.symlink(target, dst)
                apply_metadata(dst, st)
            except OSError as exc:
                raise _err('cannot create the symlink', dst, exc)
            tree[rel] = (T_LINK, target)
            out['symlinks'] += 1
        else:
            out['skipped'].append(dict(path=show(rel), type=special_kind(st.st_mode)))
    for rel, st in reversed(dirs):
        path = os.path.join(dst_root, rel) if rel else dst_root
        try:
            apply_metadata(path, st)
        except OSError as exc:
            raise _err('cannot set owner, mode or times of', path, exc)
    out['tree'] = tree
    return out


def scan_totals(root):
    """Counts of what copying ``root`` would copy (no hashing)."""
    out = dict(files=0, bytes=0, dirs=0, symlinks=0, skipped=[])
    for rel, st in walk(root):
        kind = kind_of(st.st_mode)
        if kind == T_FILE:
            out['files'] += 1
            out['bytes'] += st.st_size
        elif kind == T_DIR:
            out['dirs'] += 1
        elif kind == T_LINK:
            out['symlinks'] += 1
        else:
            out['skipped'].append(dict(path=show(rel), type=special_kind(st.st_mode)))
    return out


def tree_bytes(root):
    """Bytes of disk used by the regular files below ``root`` (0 if it cannot be read)."""
    total = 0
    try:
        for _rel, st in walk(root):
            if stat.S_ISREG(st.st_mode):
                total += st.st_blocks * 512
    except BackupError:
        return total
    return total


def compare_tree(root, expected, sizes=None, limit=None):
    """Differences between the directory ``root`` and the tree ``expected``: a sorted list of (relpath, reason).

    Compares the set of directories, files and symlinks, file contents (sizes first, then sha256) and symlink
    targets; not modes, owners or times. Special files are ignored. A missing ``root`` is one difference
    ``('', 'missing')``. With ``limit``, stops after that many differences.
    """
    if not os.path.isdir(root) or os.path.islink(root):
        return [('', 'missing' if not os.path.lexists(root) else 'not a directory')]
    sizes = sizes or {}
    diffs = []
    seen = set()
    for rel, st in walk(root):
        if limit is not None and len(diffs) >= limit:
            return sorted(diffs)
        kind = kind_of(st.st_mode)
        if kind == T_SPECIAL:
            continue
        seen.add(rel)
        want = expected.get(rel)
        if want is None:
            diffs.append((rel, 'not in the backup'))
        elif want[0] != kind:
            diffs.append((rel, 'is a %s, the backup has a %s' % (kind, want[0])))
        elif kind == T_FILE:
            if rel in sizes and sizes[rel] != st.st_size:
                diffs.append((rel, 'size differs'))
            elif hash_file(os.path.join(root, rel)) != want[1]:
                diffs.append((rel, 'content differs'))
        elif kind == T_LINK:
            try:
                target = os.readlink(os.path.join(root, rel))
            except OSError as exc:
                raise _err('cannot read the symlink', os.path.join(root, rel), exc)
            if target != want[1]:
                diffs.append((rel, 'symlink target differs'))
    for rel in sorted(set(expected) - seen):
        if limit is not None and len(diffs) >= limit:
            break
        diffs.append((rel, 'missing'))
    return sorted(diffs)


def describe(diffs, prefix=''):
    """Differences as ``prefix/relpath: reason`` strings."""
    return ['%s%s: %s' % (prefix, show(rel) if rel else '.', reason) for rel, reason in diffs]


# --------------------------------------------------------------------------------------
# SHA256SUMS
# --------------------------------------------------------------------------------------

def format_sums(entries):
    """``entries``: {'label/relpath': hex}. Returns the bytes of a ``sha256sum``-compatible file, sorted by name.

    Names with a backslash or a newline are escaped the way ``sha256sum`` does (line starts with ``\\``)."""
    lines = []
    for key in sorted(entries, key=os.fsencode):
        raw = os.fsencode(key)
        digest = entries[key].encode('ascii')
        if b'\\' in raw or b'\n' in raw:
            raw = raw.replace(b'\\', b'\\\\').replace(b'\n', b'\\n')
            lines.append(b'\\' + digest + b'  ' + raw + b'\n')
        else:
            lines.append(digest + b'  ' + raw + b'\n')
    return b''.join(lines)


def _unescape(raw):
    out = bytearray()
    i = 0
    while i < len(raw):
        char = raw[i:i + 1]
        if char == b'\\' and i + 1 < len(raw):
            nxt = raw[i + 1:i + 2]
            out += {b'n': b'\n', b'r': b'\r', b'\\': b'\\'}.get(nxt, b'\\' + nxt)
            i += 2
        else:
            out += char
            i += 1
    return bytes(out)


def parse_sums(data):
    """Parse SHA256SUMS bytes -> ({'label/relpath': hex}, [problems])."""
    entries = {}
    problems = []
    for number, line in enumerate(data.split(b'\n'), 1):
        if not line:
            continue
        escaped = line.startswith(b'\\')
        if escaped:
            line = line[1:]
        digest, sep, raw = line.partition(b'  ')
        if not sep:
            digest, sep, raw = line.partition(b' *')
        digest = digest.decode('ascii', 'replace')
        if not sep or not HEX_RE.match(digest) or not raw:
            problems.append('SHA256SUMS line %d: not "<sha256>  <file>"' % number)
            continue
        if escaped:
            raw = _unescape(raw)
        key = os.fsdecode(raw)
        if key in entries:
            problems.append('SHA256SUMS line %d: %s listed twice' % (number, show(key)))
        entries[key] = digest
    return entries, problems


# --------------------------------------------------------------------------------------
# Reading and verifying a backup
# --------------------------------------------------------------------------------------

def list_backups(root):
    """Names of the backups (folders with a manifest.json) under ``root``."""
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return []
    return [n for n in names if not n.endswith(PARTIAL) and os.path.isfile(os.path.join(root, n, MANIFEST))]


def read_manifest(bdir):
    path = os.path.join(bdir, MANIFEST)
    try:
        with open(path, 'rb') as fh:
            manifest = json.loads(fh.read().decode('utf-8'))
    except (OSError, ValueError) as exc:
        raise BackupError('cannot read the manifest %s: %s' % (path, getattr(exc, 'strerror', None) or exc))
    if not isinstance(manifest, dict) or not isinstance(manifest.get('sources'), dict):
        raise BackupError('%s is not a manifest of this module (no sources)' % path)
    if manifest.get('format_version') != FORMAT_VERSION:
        raise BackupError('%s has format_version %r; this module reads format version %d'
                          % (path, manifest.get('format_version'), FORMAT_VERSION))
    for label in manifest['sources']:
        if not isinstance(label, str) or not LABEL_RE.match(label):
            raise BackupError('%s names a source with the invalid label %r' % (path, label))
    return manifest


def verify_backup(bdir):
    """Check a backup folder against its SHA256SUMS and manifest.

    Returns ``dict(manifest=, files=, bytes=, mismatches=[str], trees={label: tree}, sizes={label: {rel: size}})``;
    ``mismatches`` empty when the backup verifies. Raises :class:`BackupError` when there is no readable manifest.
    """
    manifest = read_manifest(bdir)
    mismatches = []
    sums_path = os.path.join(bdir, SUMS)
    try:
        with open(sums_path, 'rb') as fh:
            data = fh.read()
    except OSError as exc:
        raise _err('cannot read', sums_path, exc)
    if hashlib.sha256(data).hexdigest() != manifest.get('sha256sums'):
        mismatches.append('%s: its sha256 differs from the one in %s' % (SUMS, MANIFEST))
    sums, problems = parse_sums(data)
    mismatches.extend(problems)
    labels = sorted(manifest['sources'])
    trees = {}
    sizes = {}
    listed = set()
    files = 0
    nbytes = 0
    for label in labels:
        ldir = os.path.join(bdir, label)
        tree = trees[label] = {}
        lsizes = sizes[label] = {}
        if not os.path.isdir(ldir) or os.path.islink(ldir):
            mismatches.append('%s/: missing' % label)
            continue
        counts = dict(files=0, bytes=0, dirs=0, symlinks=0)
        for rel, st in walk(ldir):
            key = label + '/' + rel
            kind = kind_of(st.st_mode)
            if kind == T_FILE:
                counts['files'] += 1
                counts['bytes'] += st.st_size
                lsizes[rel] = st.st_size
                if key not in sums:
                    mismatches.append('%s: not listed in %s' % (show(key), SUMS))
                    continue
                listed.add(key)
                if hash_file(os.path.join(ldir, rel)) != sums[key]:
                    mismatches.append('%s: checksum differs' % show(key))
                tree[rel] = (T_FILE, sums[key])
            elif kind == T_DIR:
                counts['dirs'] += 1
                tree[rel] = (T_DIR, None)
            elif kind == T_LINK:
                counts['symlinks'] += 1
                tree[rel] = (T_LINK, os.readlink(os.path.join(ldir, rel)))
            else:
                mismatches.append('%s: unexpected %s' % (show(key), special_kind(st.st_mode)))
        files += counts['files']
        nbytes += counts['bytes']
        recorded = manifest['sources'][label]
        if isinstance(recorded, dict):
            for what in ('files', 'bytes', 'dirs', 'symlinks'):
                if what in recorded and recorded[what] != counts[what]:
                    mismatches.append('%s/: %s %s in the manifest, %s in the backup'
                                      % (label, recorded[what], what, counts[what]))
    for key in sorted(set(sums) - listed):
        mismatches.append('%s: listed in %s but missing' % (show(key), SUMS))
    try:
        top = sorted(os.listdir(bdir))
    except OSError as exc:
        raise _err('cannot list', bdir, exc)
    extra = []
    for entry in top:
        if entry in labels or entry in (MANIFEST, SUMS):
            continue
        # A regular file beside the manifest (a note such as restored.json) is not backed-up data: it is never
        # restored, so it is reported, not a mismatch. Anything else there is.
        if stat.S_ISREG(os.lstat(os.path.join(bdir, entry)).st_mode):
            extra.append(show(entry))
        else:
            mismatches.append('%s: not part of the backup (no source of the manifest)' % show(entry))
    return dict(manifest=manifest, files=files, bytes=nbytes, mismatches=mismatches, trees=trees, sizes=sizes,
                extra_files=extra)


def _mismatch_message(head, mismatches):
    shown = mismatches[:IN_MESSAGE]
    more = len(mismatches) - len(shown)
    plural = '' if len(mismatches) == 1 else 'es'
    tail = ' (and %d more)' % more if more else ''
    return '%s: %d mismatch%s: %s%s' % (head, len(mismatches), plural, '; '.join(shown), tail)


# --------------------------------------------------------------------------------------
# The three states
# --------------------------------------------------------------------------------------

class DataBackup:
    """``params``: the module's parameters (path, name, state, sources, metadata, min_free_bytes, compare_sources)."""

    def __init__(self, params, check_mode=False):
        self.params = params
        self.check_mode = check_mode
        self.root = os.path.abspath(os.path.expanduser(params['path']))
        self.name = params['name']
        self.bdir = os.path.join(self.root, self.name)
        self.warnings = []

    # -- shared --------------------------------------------------------------------------

    def validate(self):
        errors = []
        if not os.path.isabs(os.path.expanduser(self.params['path'])):
            errors.append('path must be an absolute path, got %s' % self.params['path'])
        problem = name_error(self.name)
        if problem:
            errors.append(problem)
        if self.params.get('sources') is not None:
            errors.extend(label_errors(self.params['sources']))
        if (self.params.get('min_free_bytes') or 0) < 0:
            errors.append('min_free_bytes must not be negative, got %d' % self.params['min_free_bytes'])
        if errors:
            raise BackupError('invalid parameters: %s' % '; '.join(errors))

    def base(self, **kw):
        out = dict(changed=False, backup=self.bdir, name=self.name)
        out.update(kw)
        return out

    def resolve_sources(self, sources, option='sources'):
        """{label: (given path, real path)}; errors for missing directories and duplicates."""
        resolved = {}
        by_real = {}
        root_real = os.path.realpath(self.root)
        for label in sorted(sources):
            given = os.path.abspath(os.path.expanduser(sources[label]))
            real = os.path.realpath(given)
            if real in by_real:
                raise BackupError('%s: %s and %s are the same directory %s; give it once'
                                  % (option, by_real[real], label, real))
            by_real[real] = label
            if _inside(root_real, real) or _inside(real, root_real):
                raise BackupError('%s.%s: %s and the backup path %s contain one another; back up to another path'
                                  % (option, label, given, self.root))
            resolved[label] = (given, real)
        return resolved

    def load(self):
        """verify_backup() of this backup; a missing one fails naming the backups present."""
        if os.path.lexists(self.bdir) and (os.path.islink(self.bdir) or not os.path.isdir(self.bdir)):
            raise BackupError('%s exists but is not a folder: not a backup of this module' % self.bdir)
        if not os.path.isdir(self.bdir):
            present = list_backups(self.root)
            raise BackupError('backup %s does not exist: no folder %s; backups present under %s: %s'
                              % (self.name, self.bdir, self.root, ', '.join(present) if present else 'none'),
                              backups=present)
        if not os.path.isfile(os.path.join(self.bdir, MANIFEST)):
            raise BackupError('%s exists but holds no %s: not a (complete) backup of this module'
                              % (self.bdir, MANIFEST))
        return verify_backup(self.bdir)

    def verified_result(self, found):
        mismatches = found['mismatches']
        return self.base(verified=not mismatches, files=found['files'], bytes=found['bytes'],
                         manifest=found['manifest'], mismatches=mismatches[:SHOWN], mismatch_count=len(mismatches),
                         extra_files=found['extra_files'])

    def require_verified(self, found):
        if found['mismatches']:
            raise BackupError(_mismatch_message('backup %s (%s) does not verify' % (self.name, self.bdir),
                                                found['mismatches']),
                              **self.verified_result(found))

    def space_message(self, where, what, need, free):
        reserve = self.params.get('min_free_bytes') or 0
        return ('not enough space in %s for %s: it needs %d bytes (%s), the file system has %d bytes (%s) free'
                ' and min_free_bytes=%d (%s) must stay free, so %d bytes (%s) are usable'
                % (where, what, need, gib(need), free, gib(free), reserve, gib(reserve),
                   max(0, free - reserve), gib(max(0, free - reserve))))

    # -- state=present ---------------------------------------------------------------------

    def present(self):
        sources = self.resolve_sources(self.params['sources'])
        for label, (given, real) in sorted(sources.items()):
            if not os.path.isdir(real):
                raise BackupError('sources.%s: %s %s' % (
                    label, given, 'does not exist' if not os.path.lexists(given) else 'is not a directory'))
        if os.path.lexists(self.bdir):
            return self.present_existing(sources)

        partial = self.bdir + PARTIAL
        totals = {}
        for label, (given, real) in sorted(sources.items()):
            totals[label] = scan_totals(real)
        files = sum(t['files'] for t in totals.values())
        nbytes = sum(t['bytes'] for t in totals.values())
        skipped = [dict(path='%s/%s' % (label, s['path']), type=s['type'])
                   for label in sorted(totals) for s in totals[label]['skipped']]
        free = free_bytes(self.root)
        reclaim = tree_bytes(partial) if os.path.isdir(partial) and not os.path.islink(partial) else 0
        if nbytes > free + reclaim - (self.params.get('min_free_bytes') or 0):
            raise BackupError(self.space_message(existing_ancestor(self.root), 'backup %s' % self.name, nbytes,
                                                 free + reclaim),
                              files=files, bytes=nbytes, free_bytes=free)
        source_info = dict((label, dict(path=sources[label][0], files=t['files'], bytes=t['bytes'], dirs=t['dirs'],
                                        symlinks=t['symlinks'])) for label, t in totals.items())
        if self.check_mode:
            return self.base(changed=True, files=files, bytes=nbytes, sources=source_info, sha256sums=None,
                             special_files=skipped, verified=False, free_bytes=free,
                             msg='would back up %d files (%d bytes, %s) to %s; %d bytes (%s) free'
                             % (files, nbytes, gib(nbytes), self.bdir, free, gib(free)))
        return self.create(sources, partial, free)

    def present_existing(self, sources):
        found = self.load()
        self.require_verified(found)
        manifest = found['manifest']
        recorded = dict((label, info.get('path') if isinstance(info, dict) else None)
                        for label, info in manifest['sources'].items())
        wanted = dict((label, given) for label, (given, _real) in sources.items())
        if recorded != wanted:
            self.warnings.append('backup %s exists with the sources %s, not %s; it was left as it is'
                                 % (self.name, json.dumps(recorded, sort_keys=True), json.dumps(wanted, sort_keys=True)))
        return self.base(files=found['files'], bytes=found['bytes'], sources=manifest['sources'],
                         sha256sums=manifest.get('sha256sums'), special_files=manifest.get('skipped') or [],
                         verified=True,
                         msg='backup %s exists and verifies (%d files, %d bytes)'
                         % (self.name, found['files'], found['bytes']))

    def create(self, sources, partial, free):
        if os.path.lexists(partial):
            remove_own(partial)
            if os.path.lexists(partial):
                raise BackupError('cannot remove the incomplete backup %s of an earlier run' % partial)
        if not os.path.isdir(self.root):
            try:
                os.makedirs(self.root, 0o700)
                os.chmod(self.root, 0o700)
            except OSError as exc:
                raise _err('cannot create the backup path', self.root, exc)
        try:
            os.mkdir(partial, 0o700)
            os.chmod(partial, 0o700)
        except OSError as exc:
            raise _err('cannot create', partial, exc)
        try:
            return self._create(sources, partial, free)
        except BaseException:
            remove_own(partial)
            raise

    def _create(self, sources, partial, free):
        copies = {}
        for label, (_given, real) in sorted(sources.items()):
            copies[label] = copy_tree(real, os.path.join(partial, label))
        entries = {}
        for label, copy in copies.items():
            for rel, (kind, value) in copy['tree'].items():
                if kind == T_FILE:
                    entries[label + '/' + rel] = value
        sums = format_sums(entries)
        write_private(os.path.join(partial, SUMS), sums)
        sums_digest = hashlib.sha256(sums).hexdigest()
        source_info = dict((label, dict(path=sources[label][0], files=c['files'], bytes=c['bytes'], dirs=c['dirs'],
                                        symlinks=c['symlinks'])) for label, c in copies.items())
        skipped = [dict(path='%s/%s' % (label, s['path']), type=s['type'])
                   for label in sorted(copies) for s in copies[label]['skipped']]
        manifest = dict(format_version=FORMAT_VERSION, name=self.name,
                        created=utcnow().strftime('%Y-%m-%dT%H:%M:%SZ'), sources=source_info, skipped=skipped,
                        metadata=self.params.get('metadata') or {}, sha256sums=sums_digest)
        write_private(os.path.join(partial, MANIFEST),
                      (json.dumps(manifest, indent=2, sort_keys=True) + '\n').encode('utf-8'))

        # Verify the copy: every file re-read from the backup against the hash of what was read from the source.
        found = verify_backup(partial)
        if found['mismatches']:
            raise BackupError(_mismatch_message('the new backup %s does not verify' % self.name, found['mismatches']))
        # Verify the source did not change while it was copied.
        changed = []
        for label, (given, real) in sorted(sources.items()):
            changed.extend(describe(compare_tree(real, copies[label]['tree']), prefix='%s/' % label))
        if changed:
            raise BackupError(_mismatch_message(
                'the source data changed during the backup (stop what writes to it and run again)', changed),
                differences=changed[:SHOWN])
        if os.path.lexists(self.bdir):
            raise BackupError('%s appeared during the backup; not replacing it' % self.bdir)
        if hasattr(os, 'sync'):
            os.sync()
        try:
            os.rename(partial, self.bdir)
        except OSError as exc:
            raise _err('cannot rename %s to' % partial, self.bdir, exc)
        fsync_dir(self.root)
        files = sum(c['files'] for c in copies.values())
        nbytes = sum(c['bytes'] for c in copies.values())
        return self.base(changed=True, files=files, bytes=nbytes, sources=source_info, sha256sums=sums_digest,
                         special_files=skipped, verified=True, free_bytes=free,
                         msg='backed up %d files (%d bytes, %s) to %s and verified them%s'
                         % (files, nbytes, gib(nbytes), self.bdir,
                            '; skipped %d special files' % len(skipped) if skipped else ''))

    # -- state=verified --------------------------------------------------------------------

    def verified(self):
        found = self.load()
        self.require_verified(found)
        result = self.verified_result(found)
        manifest = found['manifest']
        msg = 'backup %s verifies (%d files, %d bytes)' % (self.name, found['files'], found['bytes'])
        if self.params.get('compare_sources'):
            targets = self.targets(manifest)
            matches = {}
            differences = {}
            notes = []
            for label, (_given, real) in sorted(targets.items()):
                diffs = compare_tree(real, found['trees'][label], found['sizes'][label])
                matches[label] = not diffs
                differences[label] = [show(rel) if rel else '.' for rel, _reason in diffs[:SHOWN]]
                if diffs:
                    notes.append('%s differs in %d entries (%s)'
                                 % (label, len(diffs), '; '.join(describe(diffs[:IN_MESSAGE], prefix=label + '/'))))
            result.update(sources_match=matches, differences=differences)
            msg += '; ' + ('; '.join(notes) if notes else 'the sources match it')
        result['msg'] = msg
        return result

    def targets(self, manifest):
        """{label: (given, real)} from the sources option (manifest labels only) or the manifest's paths."""
        recorded = manifest['sources']
        given = self.params.get('sources')
        if given:
            unknown = sorted(set(given) - set(recorded))
            if unknown:
                raise BackupError('sources: %s not in backup %s, which holds %s'
                                  % (', '.join(unknown), self.name, ', '.join(sorted(recorded)) or 'nothing'))
            chosen = dict(given)
        else:
            chosen = {}
            for label, info in recorded.items():
                path = info.get('path') if isinstance(info, dict) else None
                if not isinstance(path, str) or not os.path.isabs(path):
                    raise BackupError('the manifest of %s records no absolute path for %s; give it in sources'
                                      % (self.name, label))
                chosen[label] = path
        return self.resolve_sources(chosen)

    # -- state=restored --------------------------------------------------------------------

    def restored(self):
        found = self.load()
        self.require_verified(found)
        targets = self.targets(found['manifest'])
        stamp = timestamp()
        plan = []
        for label, (given, real) in sorted(targets.items()):
            if os.path.lexists(real) and not os.path.isdir(real):
                raise BackupError('sources.%s: %s exists and is not a directory' % (label, given))
            if os.path.islink(given) and not os.path.exists(given):
                raise BackupError('sources.%s: %s is a symlink to %s, which does not exist' % (label, given, real))
            exists = os.path.isdir(real)
            if exists and not compare_tree(real, found['trees'][label], found['sizes'][label], limit=1):
                continue
            if exists and os.path.ismount(real):
                raise BackupError('sources.%s: %s is a mount point, so its current data cannot be moved aside; move'
                                  ' its content away yourself, or restore to another directory with sources'
                                  % (label, real))
            plan.append(dict(label=label, given=given, real=real, exists=exists,
                             kept=unique_path('%s.replaced-%s' % (real, stamp)) if exists else None,
                             staging=unique_path('%s.restoring-%s' % (real, stamp)),
                             bytes=sum(found['sizes'][label].values())))
        unchanged = sorted(set(targets) - set(p['label'] for p in plan))
        # Space: the restored copy sits next to the data it replaces, which is kept.
        by_device = {}
        for item in plan:
            anchor = existing_ancestor(os.path.dirname(item['real']))
            dev = os.stat(anchor).st_dev
            by_device.setdefault(dev, [anchor, 0])[1] += item['bytes']
        for anchor, need in by_device.values():
            free = free_bytes(anchor)
            if need > free - (self.params.get('min_free_bytes') or 0):
                raise BackupError(self.space_message(anchor, 'restoring backup %s' % self.name, need, free))
        kept = dict((p['label'], p['kept']) for p in plan if p['kept'])
        if not plan:
            return self.base(restored=[], kept={}, unchanged=unchanged, verified=True,
                             msg='the data directories already match backup %s (%s)' % (self.name, ', '.join(unchanged)))
        if self.check_mode:
            return self.base(changed=True, restored=[p['label'] for p in plan], kept=kept, unchanged=unchanged,
                             verified=True, msg='would restore %s from backup %s%s' % (
                                 ', '.join(p['label'] for p in plan), self.name, _kept_note(kept, 'would be')))
        done = []
        done_kept = {}
        for item in plan:
            try:
                self.restore_one(item, found)
            except BackupError as exc:
                raise BackupError('%s%s' % (exc.msg, (' (already restored: %s%s)' % (
                    ', '.join(done), _kept_note(done_kept, 'is'))) if done else ''),
                    changed=bool(done), restored=done, kept=done_kept, verified=True)
            done.append(item['label'])
            if item['kept']:
                done_kept[item['label']] = item['kept']
        return self.base(changed=True, restored=done, kept=done_kept, unchanged=unchanged, verified=True,
                         msg='restored %s from backup %s and verified them%s'
                         % (', '.join(done), self.name, _kept_note(done_kept, 'is')))

    def restore_one(self, item, found):
        label = item['label']
        staging = item['staging']
        src = os.path.join(self.bdir, label)
        parent = os.path.dirname(item['real'])
        if not os.path.isdir(parent):
            try:
                os.makedirs(parent)
            except OSError as exc:
                raise _err('cannot create', parent, exc)
        try:
            copy_tree(src, staging)
            diffs = compare_tree(staging, found['trees'][label], found['sizes'][label])
            if diffs:
                raise BackupError(_mismatch_message('the restored copy of %s in %s does not match the backup'
                                                    % (label, staging), describe(diffs, prefix=label + '/')))
            if hasattr(os, 'sync'):
                os.sync()
        except BaseException:
            remove_own(staging)
            raise
        if item['exists']:
            try:
                os.rename(item['real'], item['kept'])
            except OSError as exc:
                remove_own(staging)
                raise _err('cannot move the current data aside: rename %s to' % item['real'], item['kept'], exc)
        try:
            os.rename(staging, item['real'])
        except OSError as exc:
            if item['exists']:
                try:
                    os.rename(item['kept'], item['real'])
                except OSError:
                    raise BackupError('cannot rename %s to %s (%s), nor move the current data back from %s'
                                      % (staging, item['real'], exc.strerror or exc, item['kept']))
            remove_own(staging)
            raise _err('cannot rename %s to' % staging, item['real'], exc)
        fsync_dir(parent)


def _kept_note(kept, verb):
    if not kept:
        return ''
    return '; the previous data %s kept in %s (delete it once the restore is confirmed)' % (
        verb, ', '.join(kept[label] for label in sorted(kept)))


def run(params, check_mode=False):
    """Run the module's logic; return (result dict, warnings). Raises BackupError."""
    backup = DataBackup(params, check_mode=check_mode)
    backup.validate()
    state = params.get('state') or 'present'
    if state == 'present':
        if params.get('sources') is None:
            raise BackupError('state=present requires sources')
        result = backup.present()
    elif state == 'verified':
        result = backup.verified()
    else:
        result = backup.restored()
    return result, backup.warnings
