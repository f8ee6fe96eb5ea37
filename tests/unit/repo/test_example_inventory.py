"""The example inventory's group_vars are generated from the roles' defaults and must not go stale."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def test_example_inventory_matches_role_defaults():
    res = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "example_inventory.py"), "--check"],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr


def _variables_by_file(directory):
    import yaml

    found = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith(".yml"):
            with open(os.path.join(directory, name)) as handle:
                found[name] = set(yaml.safe_load(handle) or {})
    return found


def test_example_inventory_names_each_variable_once():
    # group_vars/all/*.yml are read in name order: a variable in two files would silently override an admin's edit
    # of the first (kaapana_fast_data_dir once stood in both 50-longhorn.yml and 60-platform.yml).
    found = _variables_by_file(os.path.join(ROOT, "inventories", "example", "group_vars", "all"))
    homes = {}
    for name, variables in found.items():
        for variable in variables:
            homes.setdefault(variable, []).append(name)
    twice = dict((v, files) for v, files in homes.items() if len(files) > 1)
    assert not twice, "variables defined in more than one file (move them to roles/common): %s" % twice
    assert "kaapana_fast_data_dir" in found["00-common.yml"]


def test_role_defaults_define_each_variable_once():
    # The same rule at the source: one role's defaults/main.yml per variable (the shared ones in roles/common).
    roles = os.path.join(ROOT, "roles")
    homes = {}
    for role in sorted(os.listdir(roles)):
        path = os.path.join(roles, role, "defaults")
        if os.path.isdir(path):
            for variable in set().union(*_variables_by_file(path).values()):
                homes.setdefault(variable, []).append(role)
    twice = dict((v, r) for v, r in homes.items() if len(r) > 1)
    assert not twice, "variables in the defaults of more than one role (move them to roles/common): %s" % twice


def test_role_argument_specs_specify_each_variable_once():
    # And in the argument specs: a variable two roles check gets one spec, the common role's (the storage
    # provider once stood in the platform's and the longhorn role's, with different types and checks).
    import yaml

    roles = os.path.join(ROOT, "roles")
    homes = {}
    for role in sorted(os.listdir(roles)):
        path = os.path.join(roles, role, "meta", "argument_specs.yml")
        if os.path.exists(path):
            with open(path) as handle:
                entry_points = yaml.safe_load(handle)["argument_specs"].values()
            for variable in set().union(*(set(e.get("options") or {}) for e in entry_points)):
                homes.setdefault(variable, []).append(role)
    twice = dict((v, r) for v, r in homes.items() if len(r) > 1)
    assert not twice, "variables in the argument specs of more than one role (move them to roles/common): %s" % twice
