#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: data_backup
short_description: Back up, verify and restore Kaapana's data directories with checksums
version_added: 0.1.0
description:
  - Copies Kaapana's data directories (the fast and the slow data directory) into a named backup folder
    C(<path>/<name>) on the node, verifies the copy by SHA-256 checksums, and restores a named backup.
  - A backup holds one folder per source label with a copy of that directory (file modes, modification times,
    owners when run as root, symlinks as symlinks, directories including empty ones), a C(SHA256SUMS) file that
    C(cd <backup>; sha256sum -c SHA256SUMS) checks, and C(manifest.json) (name, creation time, the sources with
    their counts, the skipped special files, O(metadata), the sha256 of C(SHA256SUMS), format version 1).
  - Never deletes data. The only folders it removes are its own incomplete copies (C(<name>.partial),
    a failed restore's C(<dir>.restoring-*)); a restore moves the current data aside.
  - Runs on the node with the Python standard library only.
author:
  - kaapana.platform maintainers (@kaapana)
options:
  path:
    description:
      - The backup root, for example V(/var/backups/kaapana). A backup is the folder C(<path>/<name>).
      - Created with mode C(0700) when missing (O(state=present)).
      - Must not contain a source directory, nor lie inside one.
    type: path
    required: true
  name:
    description:
      - The backup's name, for example V(before-0.6.1).
      - Letters, digits, V(.), V(_) and V(-) only, not starting with V(.), not ending with V(.partial), at most 100
        characters. A bad name fails the task before anything is read or written.
    type: str
    required: true
  state:
    description:
      - V(present) creates the backup unless it exists. A backup that exists and verifies is left as it is
        (not changed); one that exists and does not verify fails the task and is never overwritten.
        Before anything is written the sizes of the source files are summed and compared with the free space
        on the file system of O(path) (of its nearest existing ancestor) less O(min_free_bytes). The copy is
        written to C(<path>/<name>.partial) (a leftover of an earlier, interrupted run is removed first),
        every copied file is read back and compared with the hash of the bytes read from the source, the
        source files are hashed again (a file that changed during the copy fails the task), and only then is
        the folder renamed to C(<path>/<name>).
      - V(verified) checks the backup against its C(SHA256SUMS) and manifest (every listed file exists and
        matches, no regular file below a source's folder is unlisted, the counts of files, bytes, directories and
        symlinks per source match the manifest, nothing but those folders, the manifest, C(SHA256SUMS) and regular
        files (notes such as a record of a restore, never restored; see RV(extra_files)) is in the backup folder)
        and changes nothing. See O(compare_sources).
      - V(restored) verifies the backup, then, for each source whose directory does not already match the
        backup (same directories, files, contents and symlink targets), copies the backup to
        C(<dir>.restoring-<timestamp>) next to it, verifies every restored file against C(SHA256SUMS), renames
        the current directory to C(<dir>.replaced-<timestamp>) (UTC, C(YYYYmmddTHHMMSSZ); never deleted, see
        RV(kept)) and renames the restored copy to C(<dir>). A missing directory is simply created. When
        C(<dir>) is a symlink to a directory, the directory it points to is replaced.
    type: str
    choices: [present, verified, restored]
    default: present
  sources:
    description:
      - 'Label to directory, for example C({fast: /home/kaapana, slow: /home/kaapana-slow}). Labels are made of
        V(a-z), V(0-9), V(_) and V(-); the backup holds each directory''s content under C(<label>/).'
      - Required with O(state=present). Every directory must exist (an empty one is fine); two labels for the same
        directory (after resolving symlinks) fail the task, so give a shared fast and slow directory once.
      - With O(state=restored) and O(state=verified) (for O(compare_sources)) it defaults to the paths recorded in
        the manifest; given, it may only use the backup's labels, selects the labels to restore or compare, and may
        point a label to another directory.
    type: dict
  metadata:
    description:
      - 'Recorded as given in the manifest''s C(metadata), for example C({from_version: 0.5.3, to_version: 0.6.1}).'
      - Returned by O(state=verified) in RV(manifest).
    type: dict
    default: {}
  min_free_bytes:
    description:
      - Bytes that must stay free on the backup's file system after the backup (O(state=present)), or on the
        file system of a restored directory after the restore (O(state=restored)).
    type: int
    default: 0
  compare_sources:
    description:
      - With O(state=verified), also compare each source directory's current content with the backup (the same
        directories, files and symlinks, the same contents and symlink targets; modes, owners and times are not
        compared) and return RV(sources_match) and RV(differences).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description:
      - O(state=present) reports what would be backed up (files, bytes) and fails when the space does not suffice;
        O(state=restored) reports which labels would be restored and where their current data would be moved.
        Nothing is written.
  diff_mode:
    support: none
    description: Not supported.
notes:
  - Run as root to keep owners; otherwise files belong to the connecting user.
  - Special files (sockets, fifos, devices) are not copied; they are listed in RV(special_files) and ignored when comparing.
  - Hard links are copied as separate files; extended attributes and ACLs are not copied.
  - Stop whatever writes to the source directories first (the upgrade playbook undeploys the platform); a file that
    changes during the copy fails the backup and leaves no backup folder behind.
  - A restore needs as much free space as the restored data, since the replaced data is kept. A directory that is a
    mount point cannot be moved aside, so its restore fails before any change.
"""

EXAMPLES = r"""
- name: Back up the data directories before the upgrade
  kaapana.platform.data_backup:
    path: /var/backups/kaapana
    name: "before-{{ kaapana_version }}-{{ ansible_date_time.iso8601_basic_short }}"
    sources:
      fast: /home/kaapana
      slow: /home/kaapana-slow
    metadata:
      from_version: 0.5.3
      to_version: 0.6.1
    min_free_bytes: 10737418240
  become: true
  register: data_backup

- name: Check a backup and whether the data directories still match it
  kaapana.platform.data_backup:
    path: /var/backups/kaapana
    name: before-0.6.1
    state: verified
    compare_sources: true
  become: true
  register: backup_check

- name: Restore a backup (the current data is kept in <dir>.replaced-<timestamp>)
  kaapana.platform.data_backup:
    path: /var/backups/kaapana
    name: before-0.6.1
    state: restored
  become: true
  register: restore

- name: Tell the admin where the replaced data is
  ansible.builtin.debug:
    msg: "{{ item.key }}: previous data kept in {{ item.value }}"
  loop: "{{ restore.kept | dict2items }}"
"""

RETURN = r"""
msg:
  description: One-line summary of the outcome.
  returned: always
  type: str
  sample: backed up 1204 files (52428800 bytes, 0.05 GiB) to /var/backups/kaapana/before-0.6.1 and verified them
backup:
  description: The backup folder, C(<path>/<name>).
  returned: always
  type: str
  sample: /var/backups/kaapana/before-0.6.1
name:
  description: The backup's name.
  returned: always
  type: str
  sample: before-0.6.1
files:
  description: Number of regular files in the backup (in check mode, that would be backed up).
  returned: when O(state) is V(present) or V(verified)
  type: int
  sample: 1204
bytes:
  description: Total size in bytes of those files.
  returned: when O(state) is V(present) or V(verified)
  type: int
  sample: 52428800
sources:
  description: Per label, the directory and its counts (C(path), C(files), C(bytes), C(dirs), C(symlinks)) as in the manifest.
  returned: when O(state=present)
  type: dict
  sample: {fast: {path: /home/kaapana, files: 1200, bytes: 52428000, dirs: 40, symlinks: 2}}
sha256sums:
  description: The sha256 of the backup's C(SHA256SUMS) file; null in check mode when the backup does not exist.
  returned: when O(state=present)
  type: str
  sample: 3b5d5c3712955042212316173ccf37be8007f4a3b8d1a5f4b3a0c2b8e7a4c111
special_files:
  description: Special files that were not copied, as C(<label>/<relpath>) with their type.
  returned: when O(state=present)
  type: list
  elements: dict
  sample: [{path: fast/run/app.sock, type: socket}]
free_bytes:
  description: Bytes free on the backup's file system before the backup.
  returned: when O(state=present) and a backup was (or would be) written, or the space did not suffice
  type: int
  sample: 107374182400
verified:
  description: Whether the backup verified (V(false) only in check mode for a backup not written yet).
  returned: always
  type: bool
  sample: true
manifest:
  description: The parsed C(manifest.json), O(metadata) included.
  returned: when O(state=verified)
  type: dict
  sample: {format_version: 1, name: before-0.6.1, created: '2024-05-01T10:00:00Z', metadata: {to_version: 0.6.1},
           sources: {fast: {path: /home/kaapana, files: 1200, bytes: 52428000, dirs: 40, symlinks: 2}},
           special_files: [], sha256sums: 3b5d5c3712955042212316173ccf37be8007f4a3b8d1a5f4b3a0c2b8e7a4c111}
mismatches:
  description: 'What does not verify, at most 20 entries (see RV(mismatch_count)), as C(<label>/<relpath>: reason).'
  returned: when O(state=verified), and on a failure to verify
  type: list
  elements: str
  sample: ['fast/data/a.dcm: checksum differs']
extra_files:
  description: Regular files beside C(manifest.json) in the backup folder that are not part of the backup (notes
    written by others, for example C(restored.json)); they are neither verified nor restored.
  returned: when O(state=verified)
  type: list
  elements: str
  sample: [restored.json]
mismatch_count:
  description: Number of mismatches in all.
  returned: when O(state=verified), and on a failure to verify
  type: int
  sample: 0
sources_match:
  description: Per label, whether the source directory's current content matches the backup.
  returned: when O(state=verified) and O(compare_sources=true)
  type: dict
  sample: {fast: true, slow: false}
differences:
  description: Per label, the first 20 relative paths that differ between the source directory and the backup
    (V(.) for a missing directory).
  returned: when O(state=verified) and O(compare_sources=true)
  type: dict
  sample: {fast: [], slow: [data/new.dcm]}
restored:
  description: Labels restored (in check mode, that would be restored).
  returned: when O(state=restored)
  type: list
  elements: str
  sample: [fast]
unchanged:
  description: Labels whose directory already matched the backup.
  returned: when O(state=restored) and the backup verified
  type: list
  elements: str
  sample: [slow]
kept:
  description: Per restored label, where its previous data was moved (in check mode, would be moved). Nothing is
    deleted; tell the admin to remove these once the restore is confirmed.
  returned: when O(state=restored)
  type: dict
  sample: {fast: /home/kaapana.replaced-20240501T101500Z}
backups:
  description: The backups present under O(path), when the named one does not exist.
  returned: on failure, when the backup does not exist
  type: list
  elements: str
  sample: [before-0.6.0]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kaapana.platform.plugins.module_utils.data_backup import (
    BackupError,
    name_error,
    run,
)


def argument_spec():
    return dict(
        path=dict(type='path', required=True),
        name=dict(type='str', required=True),
        state=dict(type='str', choices=['present', 'verified', 'restored'], default='present'),
        sources=dict(type='dict'),
        metadata=dict(type='dict', default={}),
        min_free_bytes=dict(type='int', default=0),
        compare_sources=dict(type='bool', default=False),
    )


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        required_if=[('state', 'present', ['sources'])],
        supports_check_mode=True,
    )
    problem = name_error(module.params['name'])
    if problem:
        module.fail_json(msg='invalid parameters: %s' % problem)
    try:
        result, warnings = run(module.params, check_mode=module.check_mode)
    except BackupError as exc:
        result = dict(changed=False)
        result.update(exc.result)
        result['msg'] = exc.msg
        module.fail_json(**result)
    except (IOError, OSError) as exc:
        module.fail_json(msg='data_backup failed: %s' % exc)
    for warning in warnings:
        module.warn(warning)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
