"""docs/variables.md is generated from the roles' argument specs and must not go stale."""
import copy
import importlib.util
import os
import shutil
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCRIPT = os.path.join(ROOT, "scripts", "variables_reference.py")
spec = importlib.util.spec_from_file_location("variables_reference", SCRIPT)
variables_reference = importlib.util.module_from_spec(spec)
spec.loader.exec_module(variables_reference)


def _copy_tree(tmp_path):
    """The roles' argument specs and docs/variables.md copied to tmp_path (a --root for the script)."""
    for role in os.listdir(os.path.join(ROOT, "roles")):
        src = os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")
        if os.path.exists(src):
            dest = tmp_path / "roles" / role / "meta"
            dest.mkdir(parents=True)
            shutil.copy(src, dest / "argument_specs.yml")
    (tmp_path / "docs").mkdir()
    shutil.copy(os.path.join(ROOT, "docs", "variables.md"), tmp_path / "docs" / "variables.md")


def test_variables_reference_is_up_to_date():
    res = subprocess.run([sys.executable, SCRIPT, "--check"], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr


def test_every_option_of_every_entry_point_is_documented():
    text = open(os.path.join(ROOT, "docs", "variables.md")).read()
    specs = variables_reference.load_specs(ROOT)
    assert [spec[0] for spec in specs][:len(variables_reference.ROLE_ORDER)] == variables_reference.ROLE_ORDER
    for role, entries in specs:
        assert "## `kaapana.platform.%s`" % role in text
        for entry, entry_spec in entries.items():
            assert "### %s: entry point `%s`" % (role, entry) in text
            for name in (entry_spec.get("options") or {}):
                assert "`%s`" % name in text, (role, entry, name)


def test_check_notices_a_changed_spec(tmp_path, capsys):
    _copy_tree(tmp_path)
    assert variables_reference.main(["--check", "--root", str(tmp_path)]) == 0

    path = tmp_path / "roles" / "platform" / "meta" / "argument_specs.yml"
    data = yaml.safe_load(path.read_text())
    data["argument_specs"]["main"]["options"]["kaapana_https_port"]["default"] = 8443
    path.write_text(yaml.safe_dump(data))
    capsys.readouterr()
    assert variables_reference.main(["--check", "--root", str(tmp_path)]) == 1
    assert "docs/variables.md is stale: run python scripts/variables_reference.py" in capsys.readouterr().out

    # Writing brings it up to date again, with the new default in the table.
    assert variables_reference.main(["--root", str(tmp_path)]) == 0
    assert variables_reference.main(["--check", "--root", str(tmp_path)]) == 0
    assert "| `kaapana_https_port` | int | `8443` |" in (tmp_path / "docs" / "variables.md").read_text()


def test_render_reflects_every_field():
    specs = variables_reference.load_specs(ROOT)
    base = variables_reference.render(specs)
    assert variables_reference.render(copy.deepcopy(specs)) == base  # deterministic
    changes = [
        ("description", "A new description."),
        ("type", "int"),
        ("choices", ["present", "absent", "purged"]),
        ("required", True),
        ("default", "absent"),
    ]
    for field, value in changes:
        changed = copy.deepcopy(specs)
        option = dict(changed)["microk8s"]["main"]["options"]["kaapana_microk8s_state"]
        option[field] = value
        assert variables_reference.render(changed) != base, field
    added = copy.deepcopy(specs)
    dict(added)["cluster"]["main"]["options"]["kaapana_new_setting"] = {"type": "str", "description": "New."}
    assert "`kaapana_new_setting`" in variables_reference.render(added)


def test_markup_and_table_escaping():
    spec = [("demo", {"main": {"short_description": "Demo", "options": {
        "kaapana_x": {"type": "list", "elements": "str", "default": ["a|b"], "no_log": True,
                      "description": ["Use C(a|b) with O(kaapana_y) for <host>.", "I(Really) *all*."]}}}})]
    text = variables_reference.render(spec)
    row = [line for line in text.splitlines() if line.startswith("| `kaapana_x`")][0]
    assert row == ("| `kaapana_x` | list of str | `[\"a\\|b\"]` | secret (no_log) | "
                   "Use `a\\|b` with `kaapana_y` for &lt;host&gt;. *Really* \\*all\\*. |")
