"""AWX readiness: ansible-builder makes a build context for the execution environment."""
import os
import shutil
import subprocess
import sys

from lab.config import ROOT

BIN = os.path.dirname(sys.executable)


def test_ansible_builder_creates_a_build_context(tmp_path):
    work = tmp_path / "ee"
    work.mkdir()
    shutil.copy(os.path.join(ROOT, "execution-environment.yml"), work)
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    env = dict(os.environ, ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"))
    build = subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", ROOT, "--output-path",
                            str(work)], capture_output=True, text=True, env=env, check=False)
    assert build.returncode == 0, build.stderr
    res = subprocess.run([os.path.join(BIN, "ansible-builder"), "create", "--file", "execution-environment.yml",
                          "--context", "context"], cwd=work, capture_output=True, text=True, env=env, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    containerfile = (work / "context" / "Containerfile").read_text()
    assert "dnf install -y helm" in containerfile
    assert (work / "context" / "_build" / "collections" / "kaapana-platform-0.1.0.tar.gz").exists()
    reqs = (work / "context" / "_build" / "requirements.txt").read_text()
    for lib in ("kubernetes", "netaddr", "jmespath"):
        assert lib in reqs
