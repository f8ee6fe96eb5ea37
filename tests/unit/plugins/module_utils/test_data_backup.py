# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""data_backup logic on real trees under tmp_path: copy, checksums, verification, restore, refusals."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import socket
import stat
import subprocess

import pytest

from ansible_collections.kaapana.platform.plugins.module_utils import data_backup as D

ROOT = os.geteuid() == 0
MTIME = 1600000000
BIG = 3 * D.CHUNK + 17


def make_tree(base):
    """A source tree: nested dirs, an empty dir, relative and dangling symlinks, a 0600 file, a big file."""
    base.mkdir()
    (base / 'a' / 'b').mkdir(parents=True)
    (base / 'empty').mkdir()
    (base / 'a' / 'b' / 'deep.txt').write_text('deep\n')
    (base / 'top.txt').write_text('top\n')
    secret = base / 'a' / 'secret.key'
    secret.write_text('secret\n')
    secret.chmod(0o600)
    (base / 'big.bin').write_bytes(os.urandom(1024) * (BIG // 1024) + b'x' * (BIG % 1024))
    (base / 'weird\\name\nwith newline').write_text('odd\n')
    os.symlink('a/b/deep.txt', str(base / 'rel-link'))
    os.symlink('../does-not-exist', str(base / 'a' / 'dangling'))
    os.utime(str(base / 'top.txt'), (MTIME, MTIME))
    os.utime(str(base / 'a' / 'b'), (MTIME + 5, MTIME + 5))
    (base / 'ro').mkdir()
    (base / 'ro' / 'inside').write_text('in\n')
    (base / 'ro').chmod(0o555)
    if ROOT:
        os.chown(str(base / 'top.txt'), 1234, 5678)
        os.lchown(str(base / 'rel-link'), 4321, 8765)
    return base


def params(tmp_path, **kw):
    base = dict(path=str(tmp_path / 'backups'), name='before-0.6.1', state='present',
                sources={'fast': str(tmp_path / 'fast')}, metadata={'from_version': '0.5.3'},
                min_free_bytes=0, compare_sources=False)
    base.update(kw)
    return base


@pytest.fixture
def src(tmp_path):
    tree = make_tree(tmp_path / 'fast')
    yield tree
    for path in (tree / 'ro', ):
        if path.exists():
            path.chmod(0o755)


def backup(tmp_path, check_mode=False, **kw):
    result, _warnings = D.run(params(tmp_path, **kw), check_mode=check_mode)
    return result


def snapshot(root):
    """Everything comparable about a tree: kind, content/target, mode, mtime, owner."""
    out = {}
    for rel, st in D.walk(str(root)):
        path = os.path.join(str(root), rel)
        kind = D.kind_of(st.st_mode)
        value = None
        if kind == D.T_FILE:
            value = D.hash_file(path)
        elif kind == D.T_LINK:
            value = os.readlink(path)
        out[rel] = (kind, value, stat.S_IMODE(st.st_mode) if kind != D.T_LINK else None,
                    st.st_mtime_ns if kind != D.T_DIR else None, st.st_uid, st.st_gid)
    return out


def test_backup_copies_everything_and_sha256sum_checks_it(tmp_path, src):
    res = backup(tmp_path)
    bdir = tmp_path / 'backups' / 'before-0.6.1'
    assert res['changed'] and res['verified']
    assert res['backup'] == str(bdir)
    assert res['files'] == 6 and res['bytes'] == sum(
        os.lstat(os.path.join(str(src), r)).st_size for r, st in D.walk(str(src)) if stat.S_ISREG(st.st_mode))
    assert res['sources']['fast'] == dict(path=str(src), files=6, bytes=res['bytes'], dirs=4, symlinks=2)
    assert res['special_files'] == []
    assert not (tmp_path / 'backups' / 'before-0.6.1.partial').exists()
    # Same tree: kinds, contents, symlink targets (dangling too), modes, mtimes, owners; the empty dir.
    copy = bdir / 'fast'
    assert snapshot(copy) == snapshot(src)
    assert (copy / 'empty').is_dir() and not list((copy / 'empty').iterdir())
    assert os.readlink(str(copy / 'a' / 'dangling')) == '../does-not-exist'
    assert os.readlink(str(copy / 'rel-link')) == 'a/b/deep.txt'
    assert stat.S_IMODE(os.stat(str(copy / 'a' / 'secret.key')).st_mode) == 0o600
    assert os.stat(str(copy / 'top.txt')).st_mtime == MTIME
    assert os.stat(str(copy / 'a' / 'b')).st_mtime == MTIME + 5
    assert stat.S_IMODE(os.stat(str(copy / 'ro')).st_mode) == 0o555
    if ROOT:
        assert (os.stat(str(copy / 'top.txt')).st_uid, os.stat(str(copy / 'top.txt')).st_gid) == (1234, 5678)
        assert os.lstat(str(copy / 'rel-link')).st_uid == 4321
    # Private: the root and the backup 0700, manifest and SHA256SUMS 0600.
    assert stat.S_IMODE(os.stat(str(tmp_path / 'backups')).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(str(bdir)).st_mode) == 0o700
    for name in ('manifest.json', 'SHA256SUMS'):
        assert stat.S_IMODE(os.stat(str(bdir / name)).st_mode) == 0o600
    manifest = json.loads((bdir / 'manifest.json').read_text())
    assert manifest['format_version'] == 1 and manifest['name'] == 'before-0.6.1'
    assert manifest['metadata'] == {'from_version': '0.5.3'}
    assert manifest['created'].endswith('Z')
    assert manifest['sources'] == res['sources']
    assert manifest['sha256sums'] == res['sha256sums'] == D.hash_file(str(bdir / 'SHA256SUMS'))
    lines = (bdir / 'SHA256SUMS').read_bytes().splitlines()
    assert len(lines) == 6
    names = [line.split(b'  ', 1)[1] for line in lines]
    assert b'fast/a/b/deep.txt' in names and names == sorted(names)
    check = subprocess.run(['sha256sum', '--strict', '-c', 'SHA256SUMS'], cwd=str(bdir), check=False,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert check.returncode == 0, check.stdout
    assert check.stdout.count(b': OK') == 6


def test_second_present_is_unchanged(tmp_path, src):
    first = backup(tmp_path)
    second = backup(tmp_path)
    assert not second['changed'] and second['verified']
    assert second['sha256sums'] == first['sha256sums']
    assert second['files'] == first['files']
    assert 'exists and verifies' in second['msg']


def test_present_with_other_sources_warns_and_keeps_the_backup(tmp_path, src):
    backup(tmp_path)
    (tmp_path / 'other').mkdir()
    result, warnings = D.run(params(tmp_path, sources={'fast': str(tmp_path / 'other')}))
    assert not result['changed']
    assert warnings and 'left as it is' in warnings[0]


def test_empty_source_and_socket_is_skipped(tmp_path):
    (tmp_path / 'fast').mkdir()
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(tmp_path / 'fast' / 's.sock'))
        os.mkfifo(str(tmp_path / 'fast' / 'pipe'))
        res = backup(tmp_path)
    finally:
        sock.close()
    assert res['files'] == 0 and res['bytes'] == 0
    assert res['special_files'] == [{'path': 'fast/pipe', 'type': 'fifo'}, {'path': 'fast/s.sock', 'type': 'socket'}]
    bdir = tmp_path / 'backups' / 'before-0.6.1'
    assert list((bdir / 'fast').iterdir()) == []
    assert (bdir / 'SHA256SUMS').read_bytes() == b''
    verified = backup(tmp_path, state='verified', compare_sources=True)
    assert verified['verified'] and verified['sources_match'] == {'fast': True}


def test_corrupted_backup_file_fails_verified_naming_it(tmp_path, src):
    backup(tmp_path)
    victim = tmp_path / 'backups' / 'before-0.6.1' / 'fast' / 'a' / 'b' / 'deep.txt'
    victim.write_text('DEEP\n')
    with pytest.raises(D.BackupError) as err:
        backup(tmp_path, state='verified')
    assert 'fast/a/b/deep.txt: checksum differs' in err.value.msg
    assert err.value.result['mismatches'] == ['fast/a/b/deep.txt: checksum differs']
    assert err.value.result['mismatch_count'] == 1 and err.value.result['verified'] is False
    # present does not overwrite it either.
    with pytest.raises(D.BackupError) as err:
        backup(tmp_path)
    assert 'fast/a/b/deep.txt' in err.value.msg
    assert victim.read_text() == 'DEEP\n'


def test_extra_file_in_backup_fails(tmp_path, src):
    backup(tmp_path)
    (tmp_path / 'backups' / 'before-0.6.1' / 'fast' / 'empty' / 'intruder').write_text('x')
    with pytest.raises(D.BackupError) as err:
        backup(tmp_path, state='verified')
    assert 'fast/empty/intruder: not listed in SHA256SUMS' in err.value.msg


def test_notes_beside_the_manifest_are_reported_not_verified(tmp_path, src):
    backup(tmp_path)
    bdir = tmp_path / 'backups' / 'before-0.6.1'
    (bdir / 'restored.json').write_text('{}')
    res = backup(tmp_path, state='verified')
    assert res['verified'] and res['extra_files'] == ['restored.json']
    (bdir / 'stray-dir').mkdir()
    with pytest.raises(D.BackupError) as err:
        backup(tmp_path, state='verified')
    assert 'stray-dir: not part of the backup' in err.value.msg


def test_missing_file_and_missing_symlink_fail(tmp_path, src):
    backup(tmp_path)
    bdir = tmp_path / 'backups' / 'before-0.6.1'
    (bdir / 'fast' / 'top.txt').unlink()
    (bdir / 'fast' / 'rel-link').unlink()
    with pytest.raises(D.BackupError) as err:
        backup(tmp_path, state='verified')
    mismatches = err.value.result['mismatches']
    assert 'fast/top.txt: listed in SHA256SUMS but missing' in mismatches
    assert 'fast/: 2 symlinks in the manifest, 1 in the backup' in mismatches


def test_verified_returns_the_manifest(tmp_path, src):
    backup(tmp_path)
    res = backup(tmp_path, state='verified')
    assert res['verified'] and not res['changed']
    assert res['files'] == 6 and res['mismatches'] == [] and res['mismatch_count'] == 0 and res['extra_files'] == []
    assert res['manifest']['metadata'] == {'from_version': '0.5.3'}
    assert 'sources_match' not in res


def test_verified_missing_backup_lists_present_ones(tmp_path, src):
    backup(tmp_path)
    with pytest.raises(D.BackupError) as err:
        backup(tmp_path, state='verified', name='nope')
    assert str(tmp_path / 'backups' / 'nope') in err.value.msg
    assert 'before-0.6.1' in err.value.msg
    assert err.value.result['backups'] == ['before-0.6.1']


def test_compare_sources_reports_differences(tmp_path, src):
    backup(tmp_path)
    (src / 'top.txt').write_text('changed\n')
    (src / 'empty' / 'new.txt').write_text('new\n')
    os.unlink(str(src / 'rel-link'))
    os.symlink('elsewhere', str(src / 'rel-link'))
    res = backup(tmp_path, state='verified', compare_sources=True)
    assert res['verified']
    assert res['sources_match'] == {'fast': False}
    assert res['differences'] == {'fast': ['empty/new.txt', 'rel-link', 'top.txt']}
    assert 'fast/top.txt: size differs' in res['msg']


def test_compare_sources_missing_directory(tmp_path, src):
    backup(tmp_path)
    shutil.rmtree(str(src / 'a'))
    res = backup(tmp_path, state='verified', compare_sources=True, sources={'fast': str(tmp_path / 'gone')})
    assert res['sources_match'] == {'fast': False} and res['differences'] == {'fast': ['.']}


def test_insufficient_space_is_refused_before_writing(tmp_path, src, monkeypatch):
    class Vfs:
        f_bavail = 10
        f_frsize = 4096
    seen = []
    monkeypatch.setattr(D, 'statvfs', lambda path: seen.append(path) or Vfs())
    for check_mode in (True, False):
        with pytest.raises(D.BackupError) as err:
            backup(tmp_path, check_mode=check_mode, min_free_bytes=1024)
        msg = err.value.msg
        assert 'not enough space' in msg and '40960 bytes (0.00 GiB) free' in msg
        assert '%d bytes' % err.value.result['bytes'] in msg and 'min_free_bytes=1024' in msg
    assert seen[0] == str(tmp_path)  # nearest existing ancestor of the missing backup root
    assert not (tmp_path / 'backups').exists()


def test_min_free_bytes_counts(tmp_path, src, monkeypatch):
    total = D.scan_totals(str(src))['bytes']

    class Vfs:
        f_bavail = total + 100
        f_frsize = 1
    monkeypatch.setattr(D, 'statvfs', lambda path: Vfs())
    assert backup(tmp_path, check_mode=True, min_free_bytes=100)['changed']
    with pytest.raises(D.BackupError):
        backup(tmp_path, check_mode=True, min_free_bytes=101)


def test_data_changing_during_copy_fails_and_leaves_no_backup(tmp_path, src, monkeypatch):
    def change(path):
        if path.endswith('top.txt'):
            with open(path, 'a') as fh:
                fh.write('more\n')
    monkeypatch.setattr(D, 'after_copy', change)
    with pytest.raises(D.BackupError) as err:
        backup(tmp_path)
    assert 'changed during the backup' in err.value.msg and 'fast/top.txt' in err.value.msg
    assert os.listdir(str(tmp_path / 'backups')) == []


def test_leftover_partial_is_replaced(tmp_path, src):
    partial = tmp_path / 'backups' / 'before-0.6.1.partial'
    (partial / 'fast').mkdir(parents=True)
    (partial / 'fast' / 'junk').write_text('junk')
    res = backup(tmp_path)
    assert res['changed'] and not partial.exists()
    assert not (tmp_path / 'backups' / 'before-0.6.1' / 'fast' / 'junk').exists()


def test_existing_folder_without_manifest_is_not_touched(tmp_path, src):
    (tmp_path / 'backups' / 'before-0.6.1').mkdir(parents=True)
    (tmp_path / 'backups' / 'before-0.6.1' / 'precious').write_text('x')
    with pytest.raises(D.BackupError) as err:
        backup(tmp_path)
    assert 'holds no manifest.json' in err.value.msg
    assert (tmp_path / 'backups' / 'before-0.6.1' / 'precious').read_text() == 'x'


@pytest.mark.parametrize('name', ['', '.hidden', 'a/b', '../up', 'x' * 101, 'sp ace', 'x.partial', 'é'])
def test_bad_names_are_rejected_before_any_change(tmp_path, src, name):
    with pytest.raises(D.BackupError) as err:
        backup(tmp_path, name=name)
    assert 'invalid parameters' in err.value.msg and 'name' in err.value.msg
    assert not (tmp_path / 'backups').exists()


def test_good_names():
    for name in ('a', 'before-0.6.1_2024.05.01', 'x' * 100, '-x', '_'):
        assert D.name_error(name) is None


def test_bad_sources(tmp_path, src):
    with pytest.raises(D.BackupError) as err:
        backup(tmp_path, sources={'Fast': str(src)})
    assert 'label' in err.value.msg
    with pytest.raises(D.BackupError) as err:
        backup(tmp_path, sources={'fast': 'relative/dir'})
    assert 'sources.fast must be an absolute path' in err.value.msg
    with pytest.raises(D.BackupError) as err:
        backup(tmp_path, sources={'fast': str(src), 'slow': str(tmp_path / 'missing')})
    assert 'sources.slow' in err.value.msg and 'does not exist' in err.value.msg
    os.symlink(str(src), str(tmp_path / 'alias'))
    with pytest.raises(D.BackupError) as err:
        backup(tmp_path, sources={'fast': str(src), 'slow': str(tmp_path / 'alias')})
    assert 'same directory' in err.value.msg
    with pytest.raises(D.BackupError) as err:
        backup(tmp_path, path=str(src / 'backups'))
    assert 'contain one another' in err.value.msg
    assert not (tmp_path / 'backups').exists()


def test_check_mode_writes_nothing(tmp_path, src):
    res = backup(tmp_path, check_mode=True)
    assert res['changed'] and res['files'] == 6 and res['sha256sums'] is None
    assert 'would back up 6 files' in res['msg']
    assert not (tmp_path / 'backups').exists()


def test_two_sources(tmp_path, src):
    slow = tmp_path / 'slow'
    slow.mkdir()
    (slow / 'x.dcm').write_bytes(b'dicom')
    res = backup(tmp_path, sources={'fast': str(src), 'slow': str(slow)})
    assert res['files'] == 7 and res['sources']['slow']['files'] == 1
    bdir = tmp_path / 'backups' / 'before-0.6.1'
    assert b'slow/x.dcm' in (bdir / 'SHA256SUMS').read_bytes()
    assert subprocess.call(['sha256sum', '--quiet', '-c', 'SHA256SUMS'], cwd=str(bdir)) == 0


def test_restore_keeps_the_replaced_dir_and_makes_target_identical(tmp_path, src, monkeypatch):
    backup(tmp_path)
    original = snapshot(src)
    (src / 'top.txt').write_text('changed after the backup\n')
    (src / 'a' / 'b' / 'deep.txt').unlink()
    (src / 'added.txt').write_text('added\n')
    changed = snapshot(src)
    monkeypatch.setattr(D, 'timestamp', lambda now=None: '20240501T101500Z')

    check = backup(tmp_path, state='restored', check_mode=True)
    kept_path = str(src) + '.replaced-20240501T101500Z'
    assert check['changed'] and check['restored'] == ['fast'] and check['kept'] == {'fast': kept_path}
    assert snapshot(src) == changed and not os.path.exists(kept_path)

    res = backup(tmp_path, state='restored')
    assert res['changed'] and res['restored'] == ['fast'] and res['verified']
    assert res['kept'] == {'fast': kept_path}
    assert kept_path in res['msg']
    assert snapshot(kept_path) == changed
    assert snapshot(src) == original
    assert stat.S_IMODE(os.stat(str(src)).st_mode) == stat.S_IMODE(
        os.stat(str(tmp_path / 'backups' / 'before-0.6.1' / 'fast')).st_mode)
    assert not [n for n in os.listdir(str(tmp_path)) if '.restoring-' in n]

    again = backup(tmp_path, state='restored')
    assert not again['changed'] and again['restored'] == [] and again['kept'] == {}
    assert again['unchanged'] == ['fast']


def test_restore_creates_a_missing_target_and_moves_symlinked_target(tmp_path, src, monkeypatch):
    backup(tmp_path)
    original = snapshot(src)
    res = backup(tmp_path, state='restored', sources={'fast': str(tmp_path / 'new' / 'fast')})
    assert res['changed'] and res['kept'] == {}
    assert snapshot(tmp_path / 'new' / 'fast') == original
    # A target that is a symlink to a directory: the directory it points to is replaced, the link stays.
    real = tmp_path / 'real'
    real.mkdir()
    (real / 'other').write_text('other')
    os.symlink(str(real), str(tmp_path / 'link'))
    monkeypatch.setattr(D, 'timestamp', lambda now=None: '20240501T101500Z')
    res = backup(tmp_path, state='restored', sources={'fast': str(tmp_path / 'link')})
    assert res['kept'] == {'fast': str(real) + '.replaced-20240501T101500Z'}
    assert os.path.islink(str(tmp_path / 'link'))
    assert snapshot(real) == original
    assert (tmp_path / 'real.replaced-20240501T101500Z' / 'other').read_text() == 'other'


def test_restore_twice_in_one_second_does_not_reuse_the_kept_name(tmp_path, src, monkeypatch):
    backup(tmp_path)
    monkeypatch.setattr(D, 'timestamp', lambda now=None: '20240501T101500Z')
    (src / 'x').write_text('1')
    first = backup(tmp_path, state='restored')
    (src / 'x').write_text('2')
    second = backup(tmp_path, state='restored')
    assert first['kept']['fast'] != second['kept']['fast']
    assert second['kept']['fast'].endswith('-1')
    assert (tmp_path / 'fast.replaced-20240501T101500Z' / 'x').read_text() == '1'
    assert (tmp_path / 'fast.replaced-20240501T101500Z-1' / 'x').read_text() == '2'


def test_restore_of_a_corrupted_backup_changes_nothing(tmp_path, src):
    backup(tmp_path)
    (src / 'top.txt').write_text('current\n')
    before = snapshot(src)
    (tmp_path / 'backups' / 'before-0.6.1' / 'fast' / 'top.txt').write_text('rot\n')
    with pytest.raises(D.BackupError) as err:
        backup(tmp_path, state='restored')
    assert 'fast/top.txt: checksum differs' in err.value.msg
    assert snapshot(src) == before
    assert sorted(os.listdir(str(tmp_path))) == ['backups', 'fast']


def test_restore_rejects_unknown_labels_and_non_directories(tmp_path, src):
    backup(tmp_path)
    with pytest.raises(D.BackupError) as err:
        backup(tmp_path, state='restored', sources={'slow': str(tmp_path / 'slow')})
    assert 'slow not in backup before-0.6.1, which holds fast' in err.value.msg
    (tmp_path / 'afile').write_text('x')
    with pytest.raises(D.BackupError) as err:
        backup(tmp_path, state='restored', sources={'fast': str(tmp_path / 'afile')})
    assert 'is not a directory' in err.value.msg


def test_restore_space_check(tmp_path, src, monkeypatch):
    backup(tmp_path)
    (src / 'top.txt').write_text('changed\n')

    class Vfs:
        f_bavail = 1
        f_frsize = 1
    monkeypatch.setattr(D, 'statvfs', lambda path: Vfs())
    before = snapshot(src)
    with pytest.raises(D.BackupError) as err:
        backup(tmp_path, state='restored')
    assert 'not enough space' in err.value.msg
    assert snapshot(src) == before


def test_sums_escaping_round_trip():
    entries = {'fast/plain': 'a' * 64, 'fast/back\\slash': 'b' * 64, 'fast/new\nline': 'c' * 64}
    data = D.format_sums(entries)
    assert b'\\' + b'b' * 64 + b'  fast/back\\\\slash\n' in data
    assert b'\\' + b'c' * 64 + b'  fast/new\\nline\n' in data
    parsed, problems = D.parse_sums(data)
    assert parsed == entries and problems == []
    _parsed, problems = D.parse_sums(b'nonsense\n')
    assert problems == ['SHA256SUMS line 1: not "<sha256>  <file>"']
