"""The node-role Molecule scenarios (create, converge, idempotence, verify, destroy) against the lab.

`make test` runs `multinode` (three nodes: MicroK8s on each, the join, the second run changing nothing); the
one-node `default` scenario runs the same converge and verify playbooks on its main node only, so it is left
out of the CI run to keep it short: run it with `bash scripts/molecule.sh default`."""
import os
import subprocess

import pytest

from lab.config import ROOT

pytestmark = pytest.mark.lab


@pytest.mark.parametrize("scenario", ["multinode"])
def test_molecule_scenario(lab, scenario):
    res = subprocess.run(["bash", os.path.join(ROOT, "scripts", "molecule.sh"), scenario], cwd=ROOT,
                         capture_output=True, text=True, env=lab.env(), check=False)
    tail = "\n".join((res.stdout + res.stderr).splitlines()[-60:])
    assert res.returncode == 0, "molecule %s failed:\n%s" % (scenario, tail)
    assert "idempotence" in res.stdout + res.stderr
