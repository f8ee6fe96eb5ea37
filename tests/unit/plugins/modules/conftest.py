# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Module-level test helpers: run a module's main() with a scripted fake helm."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from unittest import mock

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class ScriptedHelm:
    """Answers helm calls from a script of (expected argv prefix, rc, stdout, stderr or callable)."""

    def __init__(self, script):
        self.script = list(script)
        self.calls = []
        self.warnings = []

    def __call__(self, argv, data=None, environ_update=None, check_rc=False, **kwargs):
        self.calls.append({"argv": list(argv), "data": data, "env": dict(environ_update or {})})
        if not self.script:
            raise AssertionError("unexpected helm call: %s" % " ".join(argv))
        prefix, rc, out, err = self.script.pop(0)
        args = list(argv[1:])
        if args[:len(prefix)] != list(prefix):
            raise AssertionError("expected helm %s, got helm %s" % (" ".join(prefix), " ".join(args)))
        if callable(out):
            out = out(args)
        return rc, out, err


@pytest.fixture
def run_helm_module(capsys):
    """run_helm_module(main, args, script) -> (result dict, ScriptedHelm)."""

    def _run(main, args, script, check_mode=False, diff=False):
        helm = ScriptedHelm(script)
        args = dict(args)
        if check_mode:
            args["_ansible_check_mode"] = True
        if diff:
            args["_ansible_diff"] = True
        with patch_module_args(args), \
                mock.patch.object(basic.AnsibleModule, "run_command", helm), \
                mock.patch.object(basic.AnsibleModule, "get_bin_path", return_value="/usr/bin/helm"), \
                mock.patch.object(basic.AnsibleModule, "warn", lambda _self, msg: helm.warnings.append(msg)):
            with pytest.raises(SystemExit):
                main()
        out = capsys.readouterr().out
        return json.loads(out), helm, out

    return _run
