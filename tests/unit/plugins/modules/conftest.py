# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Module-level test helpers: run a module's main() with a scripted fake helm, once per helm major.

``run_helm_module`` is parametrised over Helm 3 and Helm 4 (test ids ``[helm3]``, ``[helm4]``): the fake helm
answers ``helm version`` with what the real binary of that major prints, and ``run_helm_module.major`` tells the
test which flags to expect."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from unittest import mock

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from tests.unit.plugins.module_utils.helm_fixtures import major_params, real_version


class ScriptedHelm:
    """Answers helm calls from a script of (expected argv prefix, rc, stdout, stderr or callable)."""

    def __init__(self, script, version="v3.21.4\n"):
        self.script = list(script)
        self.calls = []
        self.version_calls = []
        self.version = version
        self.warnings = []

    def __call__(self, argv, data=None, environ_update=None, check_rc=False, **kwargs):
        if list(argv[1:]) == ["version", "--template", "{{.Version}}"]:
            self.version_calls.append(list(argv))
            return 0, self.version, ""
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


@pytest.fixture(params=major_params())
def helm_major(request):
    """3 or 4: the major of the fake helm (real `helm version` output of v3.21.4 / v4.3.2)."""
    return request.param


@pytest.fixture
def run_helm_module(capsys, helm_major):
    """run_helm_module(main, args, script) -> (result dict, ScriptedHelm, stdout); ``.major`` is the helm major."""

    def _run(main, args, script, check_mode=False, diff=False, version=None):
        helm = ScriptedHelm(script, version or real_version(helm_major))
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
        assert len(helm.version_calls) <= 1, "helm version must be read once per run"
        return json.loads(out), helm, out

    _run.major = helm_major
    return _run
