# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Runs the Molecule scenario ``platform`` once per pytest session and keeps what its verify step wrote
(KAAPANA_PLATFORM_EVIDENCE), so that test_molecule_platform.py and test_platform_values.py share one run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_RUN = {}


class ScenarioRun(object):
    def __init__(self, proc, evidence):
        self.proc = proc
        self.evidence = evidence

    @property
    def output(self):
        return "%s\n%s" % (self.proc.stdout[-20000:], self.proc.stderr[-5000:])

    def path(self, name):
        return os.path.join(self.evidence, name)


def run_platform_scenario(lab):
    """The result of `bash scripts/molecule.sh platform` (run at most once per session)."""
    if "run" not in _RUN:
        evidence = tempfile.mkdtemp(prefix="kaapana-platform-evidence-")
        env = lab.env()
        env["KAAPANA_PLATFORM_EVIDENCE"] = evidence
        proc = subprocess.run(["bash", "scripts/molecule.sh", "platform"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=2400, check=False)
        _RUN["run"] = ScenarioRun(proc, evidence)
    return _RUN["run"]
