"""Local replacement for ansible-test's pip bootstrap script.

ansible-test --venv downloads get-pip-<version>.py from ci-files.testing.ansible.com, which
these machines cannot reach. ansible-test runs the cached script with pip-install style
arguments (options plus `pip==X`); this does the same job with the interpreter's own
ensurepip and then installs the requested pip from PyPI. ansible-test strips the environment
(PIP_CERT among it), so the machine's CA bundle is pinned in the new venv's own pip.conf.
"""
import ensurepip
import os
import subprocess
import sys

bundle = next((p for p in (os.environ.get("SSL_CERT_FILE"), "/etc/ssl/certs/ca-certificates.crt")
               if p and os.path.exists(p)), None)
if bundle:
    with open(os.path.join(sys.prefix, "pip.conf"), "w") as handle:
        handle.write("[global]\ncert = %s\n" % bundle)
# get-pip's own switches; pip install does not know them.
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
ensurepip.bootstrap(upgrade=True)
# ensurepip points PIP_CONFIG_FILE at /dev/null for its own run; the install below needs the configs.
os.environ.pop("PIP_CONFIG_FILE", None)
subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet"] + args)
