"""The `lab` session fixture: brings the lab up once if it is not up already and takes it
down at the end only when this session started it (so a developer's running lab survives)."""
import os
import subprocess
import sys

import pytest

from tests.lab import controlplane
from tests.lab.cli import status as lab_status
from tests.lab.config import CONFIG, ROOT
from tests.lab.procs import ProcessTable


class Lab:
    def __init__(self, cfg):
        self.cfg = cfg
        self.kubeconfig = cfg.kubeconfig
        self.api_server = cfg.api_server
        self.registry = cfg.registry
        self.registry_user = cfg.registry_user
        self.helm = cfg.bin("helm")
        self.kubectl = cfg.bin("kubectl")
        self.root = ROOT

    def registry_password(self):
        return self.cfg.registry_password()

    def kubectl_run(self, *args, check=True, input_text=None):
        return subprocess.run([self.kubectl, "--kubeconfig", self.kubeconfig] + list(args), check=check,
                              capture_output=True, text=True, input=input_text)

    def restart_apiserver(self):
        controlplane.restart_apiserver(self.cfg, ProcessTable(self.cfg.state))

    def env(self):
        """Environment for ansible-playbook / helm runs against the lab from the host."""
        env = dict(os.environ)
        env.update({
            "KUBECONFIG": self.kubeconfig,
            "K8S_AUTH_KUBECONFIG": self.kubeconfig,
            "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
            "ANSIBLE_COLLECTIONS_PATH": os.path.join(ROOT, ".build", "collections"),
            "PATH": os.path.dirname(self.helm) + os.pathsep + os.path.dirname(sys.executable) + os.pathsep
            + env.get("PATH", ""),
            "CONTAINERS_CONF": self.cfg.path("containers.conf"),
        })
        return env


def _lab_cli(*args):
    return subprocess.run([sys.executable, "-m", "tests.lab"] + list(args), cwd=ROOT, check=False)


@pytest.fixture(scope="session")
def lab():
    started = False
    if lab_status(CONFIG, quiet=True) != 0:
        res = _lab_cli("up")
        assert res.returncode == 0, "lab up failed; see .lab/logs/"
        started = True
    yield Lab(CONFIG)
    if started and not os.environ.get("KAAPANA_LAB_KEEP"):
        res = _lab_cli("down")
        assert res.returncode == 0, "lab down left something behind"
