# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""The data_backup module's main(): argument handling, results and failures for present, verified and restored."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
from unittest import mock

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.kaapana.platform.plugins.module_utils import data_backup as D
from ansible_collections.kaapana.platform.plugins.modules import data_backup as M


def run(capsys, args, check_mode=False):
    """Run main() with ``args``; return (result dict, failed). Warnings land in the result's ``warned``."""
    args = dict(args)
    if check_mode:
        args['_ansible_check_mode'] = True
    warned = []
    with patch_module_args(args), \
            mock.patch.object(basic.AnsibleModule, 'warn', lambda _self, msg: warned.append(msg)):
        with pytest.raises(SystemExit) as exc:
            M.main()
    out = json.loads(capsys.readouterr().out)
    out['warned'] = warned
    return out, exc.value.code != 0


@pytest.fixture
def tree(tmp_path):
    fast = tmp_path / 'home' / 'kaapana'
    (fast / 'data' / 'empty').mkdir(parents=True)
    (fast / 'data' / 'a.dcm').write_bytes(b'\x00dicom' * 1000)
    os.symlink('data/a.dcm', str(fast / 'link'))
    slow = tmp_path / 'home' / 'kaapana-slow'
    slow.mkdir()
    (slow / 'minio.bin').write_bytes(b'object')
    return dict(path=str(tmp_path / 'backups'), name='before-0.6.1',
                sources={'fast': str(fast), 'slow': str(slow)}, metadata={'to_version': '0.6.1'})


def test_present_verified_restored(capsys, tree, tmp_path):
    res, failed = run(capsys, tree, check_mode=True)
    assert not failed and res['changed'] and res['files'] == 2 and res['bytes'] == 6006
    assert not os.path.exists(tree['path'])

    res, failed = run(capsys, tree)
    assert not failed and res['changed'] and res['verified']
    assert res['backup'] == os.path.join(tree['path'], 'before-0.6.1') and res['name'] == 'before-0.6.1'
    assert res['sources']['fast'] == dict(path=tree['sources']['fast'], files=1, bytes=6000, dirs=2, symlinks=1)
    assert res['sources']['slow']['files'] == 1 and len(res['sha256sums']) == 64 and res['special_files'] == []

    res, failed = run(capsys, tree)
    assert not failed and not res['changed'] and res['verified']

    res, failed = run(capsys, dict(path=tree['path'], name='before-0.6.1', state='verified', compare_sources=True))
    assert not failed and not res['changed'] and res['verified']
    assert res['manifest']['metadata'] == {'to_version': '0.6.1'}
    assert res['sources_match'] == {'fast': True, 'slow': True} and res['differences'] == {'fast': [], 'slow': []}

    with open(os.path.join(tree['sources']['slow'], 'minio.bin'), 'wb') as fh:
        fh.write(b'overwritten by the new version')
    args = dict(path=tree['path'], name='before-0.6.1', state='restored')
    res, failed = run(capsys, args, check_mode=True)
    assert not failed and res['changed'] and res['restored'] == ['slow']
    assert res['kept']['slow'].startswith(tree['sources']['slow'] + '.replaced-')
    assert not os.path.exists(res['kept']['slow'])

    res, failed = run(capsys, args)
    assert not failed and res['changed'] and res['restored'] == ['slow'] and res['verified']
    assert res['unchanged'] == ['fast']
    with open(os.path.join(res['kept']['slow'], 'minio.bin'), 'rb') as fh:
        assert fh.read() == b'overwritten by the new version'
    with open(os.path.join(tree['sources']['slow'], 'minio.bin'), 'rb') as fh:
        assert fh.read() == b'object'

    res, failed = run(capsys, args)
    assert not failed and not res['changed'] and res['restored'] == [] and res['kept'] == {}


def test_present_requires_sources(capsys, tree):
    res, failed = run(capsys, dict(path=tree['path'], name='x'))
    assert failed and 'sources' in res['msg']


def test_bad_name_fails_before_anything(capsys, tree):
    res, failed = run(capsys, dict(tree, name='../escape'))
    assert failed and 'invalid parameters' in res['msg'] and 'name' in res['msg']
    assert not os.path.exists(tree['path'])


def test_bad_state_is_rejected(capsys, tree):
    res, failed = run(capsys, dict(tree, state='absent'))
    assert failed and 'state' in res['msg']


def test_verified_failure_and_missing_backup(capsys, tree):
    run(capsys, tree)
    res, failed = run(capsys, dict(path=tree['path'], name='other', state='verified'))
    assert failed and 'does not exist' in res['msg'] and res['backups'] == ['before-0.6.1']
    with open(os.path.join(tree['path'], 'before-0.6.1', 'fast', 'data', 'a.dcm'), 'ab') as fh:
        fh.write(b'bitrot')
    res, failed = run(capsys, dict(path=tree['path'], name='before-0.6.1', state='verified'))
    assert failed and not res['changed'] and not res['verified']
    assert res['mismatches'] == ['fast/data/a.dcm: checksum differs', 'fast/: 6000 bytes in the manifest, 6006 in the backup']
    assert res['mismatch_count'] == 2
    assert 'fast/data/a.dcm' in res['msg']


def test_space_refusal(capsys, tree, monkeypatch):
    class Vfs:
        f_bavail = 0
        f_frsize = 4096
    monkeypatch.setattr(D, 'statvfs', lambda path: Vfs())
    res, failed = run(capsys, tree)
    assert failed and 'not enough space' in res['msg'] and '6006 bytes' in res['msg']
    assert not os.path.exists(tree['path'])


def test_warning_for_other_sources(capsys, tree):
    run(capsys, tree)
    res, failed = run(capsys, dict(tree, sources={'fast': tree['sources']['fast']}))
    assert not failed and not res['changed']
    assert any('left as it is' in w for w in res['warned'])


def test_documentation_matches_the_argument_spec():
    import yaml
    doc = yaml.safe_load(M.DOCUMENTATION)
    spec = M.argument_spec()
    assert set(doc['options']) == set(spec)
    for name, opt in doc['options'].items():
        assert opt['type'] == spec[name]['type']
        assert opt.get('default') == spec[name].get('default')
        assert opt.get('required', False) == spec[name].get('required', False)
        assert opt.get('choices') == spec[name].get('choices')
    yaml.safe_load(M.EXAMPLES)
    returned = yaml.safe_load(M.RETURN)
    for key in ('changed', 'backup', 'name', 'files', 'bytes', 'sources', 'sha256sums', 'special_files', 'verified', 'msg',
                'manifest', 'mismatches', 'sources_match', 'differences', 'restored', 'kept'):
        assert key == 'changed' or key in returned
    # Keys Ansible's task executor reads itself: a result with `skipped` counts as a skipped task (changed_when is
    # then never evaluated), so no return value may be named like them.
    assert not set(returned) & {'skipped', 'failed', 'failed_when_result', 'ansible_facts', 'invocation', 'warnings'}
