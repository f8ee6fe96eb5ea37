"""The collection builds as a Galaxy artifact and installs into an empty collections path."""
import json
import os
import re
import subprocess
import sys

from lab.config import ROOT

BIN = os.path.dirname(sys.executable)


def test_build_install_and_list(tmp_path):
    # Only what is installed from the tarball may be found: an empty config (the checkout's
    # ansible.cfg would point at the checkout itself) and an empty collections path.
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    dest = tmp_path / "collections"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(dest), ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"))

    def run(*argv, cwd=str(tmp_path)):
        return subprocess.run([os.path.join(BIN, argv[0])] + list(argv[1:]), capture_output=True, text=True,
                              env=env, cwd=cwd, check=False)

    build = run("ansible-galaxy", "collection", "build", ROOT, "--output-path", str(tmp_path))
    assert build.returncode == 0, build.stderr
    tarball = tmp_path / "kaapana-platform-0.1.0.tar.gz"
    assert tarball.exists()
    listing = subprocess.run(["tar", "-tzf", str(tarball)], capture_output=True, text=True, check=True).stdout
    for unwanted in (".venv/", ".lab/", ".build/", "__pycache__", ".pytest_cache", "tests/output"):
        assert unwanted not in listing, unwanted

    # --no-deps: Galaxy is out of reach here; the dependencies come from the `ansible` package on PyPI.
    install = run("ansible-galaxy", "collection", "install", "--no-deps", str(tarball), "-p", str(dest))
    assert install.returncode == 0, install.stderr
    manifest = json.loads((dest / "ansible_collections" / "kaapana" / "platform" / "MANIFEST.json").read_text())
    # Every collection the roles call by FQCN is declared, so `ansible-galaxy collection install` brings it.
    used = set()
    for base in ("roles", "playbooks"):
        for dirpath, _dirs, files in os.walk(os.path.join(ROOT, base)):
            for name in files:
                if name.endswith((".yml", ".yaml")):
                    with open(os.path.join(dirpath, name)) as handle:
                        used.update(re.findall(r"\b(ansible\.posix|community\.general|kubernetes\.core)\.[a-z_]+",
                                               handle.read()))
    assert used and used <= set(manifest["collection_info"]["dependencies"]), (used, manifest["collection_info"])

    docs = run("ansible-doc", "-l", "kaapana.platform")
    assert docs.returncode == 0, docs.stderr
    modules = sorted(line.split()[0] for line in docs.stdout.splitlines() if line.strip())
    shipped = sorted("kaapana.platform." + f[:-3] for f in os.listdir(os.path.join(ROOT, "plugins", "modules"))
                     if f.endswith(".py") and not f.startswith("_"))
    assert shipped and modules == shipped
