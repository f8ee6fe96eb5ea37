"""The `lab` session fixture: brings the lab up once if it is not up already and takes it
down at the end only when this session started it (so a developer's running lab survives)."""
import copy
import os
import subprocess
import sys

import pytest

from lab import controlplane, registry
from lab.cli import status as lab_status
from lab.config import CONFIG, HELM_BINARIES, ROOT
from lab.procs import ProcessTable


class Lab:
    def __init__(self, cfg):
        self.cfg = cfg
        self.kubeconfig = cfg.kubeconfig
        self.api_server = cfg.api_server
        self.registry = cfg.registry
        self.registry_user = cfg.registry_user
        # the lab's forward proxy (squid), the only way from a proxied node to the registry
        self.proxy_url = cfg.proxy_url
        self.helm = cfg.bin("helm")
        self.helm_major = 3
        self.kubectl = cfg.bin("kubectl")
        self.root = ROOT

    def registry_password(self):
        return self.cfg.registry_password()

    def proxy_access_log(self):
        """squid's access log: one line per request it forwarded (client address, status, method, URL)."""
        from lab import proxy
        with open(proxy.access_log(self.cfg)) as handle:
            return handle.read()

    def with_helm(self, major):
        """This lab seen through the real Helm of another major (3 or 4): lab.helm and the PATH of lab.env()."""
        view = copy.copy(self)
        view.helm, view.helm_major = self.cfg.bin(HELM_BINARIES[major]), major
        return view

    def kubectl_run(self, *args, check=True, input_text=None):
        return subprocess.run([self.kubectl, "--kubeconfig", self.kubeconfig] + list(args), check=check,
                              capture_output=True, text=True, input=input_text)

    def restart_apiserver(self):
        controlplane.restart_apiserver(self.cfg, ProcessTable(self.cfg.state))

    def stop_registry(self):
        ProcessTable(self.cfg.state).stop("registry")

    def start_registry(self):
        procs = ProcessTable(self.cfg.state)
        procs.start("registry", registry.argv(self.cfg))
        controlplane.wait_for(lambda: registry.healthy(self.cfg), "registry", 30, procs, "registry")

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
            # No task of a lab run waits this long (the longest waits are 420 s): a task that does is hung, and
            # fails naming itself instead of running into the test's own timeout.
            "ANSIBLE_TASK_TIMEOUT": "900",
        })
        return env


def _lab_cli(*args):
    return subprocess.run([sys.executable, "-m", "lab"] + list(args), cwd=ROOT, check=False)


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


def _bad_input_rows(terminalreporter):
    """(case, outcome, message, no change) of every test that recorded the user property `bad_input`
    (tests/integration/test_bad_input.py), in the order of its case list."""
    rows = []
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":
                continue
            for name, value in getattr(report, "user_properties", ()):
                if name == "bad_input":
                    rows.append(dict(value, outcome=report.outcome))
    return sorted(rows, key=lambda row: row["index"])


def pytest_terminal_summary(terminalreporter):
    """The bad-input table: case, the first message line naming the variable, 'no change' verified; also written
    as markdown to tests/output/bad_input.md. Then the reliability table (tests/output/reliability.md)."""
    _write_reliability_table(terminalreporter)
    rows = _bad_input_rows(terminalreporter)
    if not rows:
        return
    width = max(len(row["case"]) for row in rows)
    terminalreporter.section("bad input: %d cases" % len(rows))
    terminalreporter.write_line("%-*s  %-6s  %-9s  %s" % (width, "case", "test", "no change", "message"))
    for row in rows:
        cells = (width, row["case"], row["outcome"], "yes" if row["no_change"] else "NO",
                 row["message"] or "(no line names the variable)")
        terminalreporter.write_line("%-*s  %-6s  %-9s  %s" % cells)
    lines = ["# Bad input rejected before any change (site.yml)", "",
             "| case | test | message (first line naming the variable) | no change verified |", "|---|---|---|---|"]
    for row in rows:
        lines.append("| %s | %s | %s | %s |" % (row["case"], row["outcome"],
                                                (row["message"] or "(no line names the variable)").replace("|", "\\|"),
                                                "yes" if row["no_change"] else "no"))
    out_dir = os.path.join(ROOT, "tests", "output")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "bad_input.md"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
    terminalreporter.write_line("written to %s" % os.path.join(out_dir, "bad_input.md"))


# The reliability and security suite (issue 8) marks its tests with
# @pytest.mark.reliability("area", "what is proven"); the run ends with a table of them.
def pytest_configure(config):
    config.addinivalue_line("markers", "reliability(area, check): part of the reliability/security results table")


@pytest.fixture(autouse=True)
def _reliability_row(request):
    marker = request.node.get_closest_marker("reliability")
    if marker is not None:
        request.node.user_properties.append(("reliability", {"area": marker.args[0], "check": marker.args[1],
                                                             "test": request.node.nodeid}))
    yield


def _reliability_rows(terminalreporter):
    rows = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            for name, value in getattr(report, "user_properties", ()):
                if name != "reliability":
                    continue
                row = rows.setdefault(value["test"], dict(value, outcome="passed"))
                if report.outcome != "passed":
                    row["outcome"] = report.outcome if report.when == "call" else "error"
    return sorted(rows.values(), key=lambda r: (r["area"], r["test"]))


def _write_reliability_table(terminalreporter):
    rows = _reliability_rows(terminalreporter)
    if not rows:
        return
    terminalreporter.section("reliability and security: %d checks" % len(rows))
    width = max(len(r["area"]) for r in rows)
    for row in rows:
        terminalreporter.write_line("%-*s  %-7s  %s" % (width, row["area"], row["outcome"], row["check"]))
    lines = ["# Reliability and security checks", "", "| area | result | check | test |", "|---|---|---|---|"]
    lines += ["| %s | %s | %s | `%s` |" % (r["area"], r["outcome"], r["check"], r["test"]) for r in rows]
    out_dir = os.path.join(ROOT, "tests", "output")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "reliability.md"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
