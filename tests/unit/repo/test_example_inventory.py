"""The example inventory's group_vars are generated from the roles' defaults and must not go stale."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def test_example_inventory_matches_role_defaults():
    res = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "example_inventory.py"), "--check"],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
