"""The changelog: fragments and changelogs/changelog.yaml pass antsibull-changelog's linters, CHANGELOG.rst is
what antsibull-changelog generates from changelog.yaml, and the release in galaxy.yml is in it."""
import os
import shutil
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _changelog(args, cwd):
    """Run antsibull-changelog (pinned in requirements.txt) with the interpreter running the tests."""
    return subprocess.run([sys.executable, "-m", "antsibull_changelog"] + args, cwd=cwd, capture_output=True,
                          text=True, check=False)


def _words(text):
    return " ".join(text.split())


def test_fragments_pass_the_linter():
    res = _changelog(["lint"], ROOT)
    assert res.returncode == 0 and not res.stdout.strip(), res.stdout + res.stderr


def test_changelog_yaml_passes_the_linter():
    res = _changelog(["lint-changelog-yaml", os.path.join("changelogs", "changelog.yaml")], ROOT)
    assert res.returncode == 0 and not res.stdout.strip(), res.stdout + res.stderr


def test_changelog_rst_is_generated_from_changelog_yaml(tmp_path):
    (tmp_path / "changelogs").mkdir()
    shutil.copy(os.path.join(ROOT, "galaxy.yml"), tmp_path)
    for name in ("config.yaml", "changelog.yaml"):
        shutil.copy(os.path.join(ROOT, "changelogs", name), tmp_path / "changelogs")
    res = _changelog(["generate"], str(tmp_path))
    assert res.returncode == 0, res.stdout + res.stderr
    with open(os.path.join(ROOT, "CHANGELOG.rst")) as handle:
        current = handle.read()
    assert (tmp_path / "CHANGELOG.rst").read_text() == current, (
        "CHANGELOG.rst is stale: run antsibull-changelog generate")


def test_galaxy_version_is_released_with_every_entry_in_changelog_rst():
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        version = str(yaml.safe_load(handle)["version"])
    with open(os.path.join(ROOT, "changelogs", "changelog.yaml")) as handle:
        releases = yaml.safe_load(handle)["releases"]
    assert version in releases, "galaxy.yml version %s has no release in changelogs/changelog.yaml" % version
    with open(os.path.join(ROOT, "CHANGELOG.rst")) as handle:
        rst = _words(handle.read())
    assert "v%s" % version in rst
    release = releases[version]
    entries = []
    for section, items in (release.get("changes") or {}).items():
        entries.extend([items] if isinstance(items, str) else items)
    assert entries, "release %s has no changelog entries" % version
    for entry in entries:
        assert _words(entry) in rst, entry
    # New modules (a list), plugins and objects (roles, playbooks: mappings of type to list).
    groups = [release.get("modules") or []]
    groups += list((release.get("plugins") or {}).values()) + list((release.get("objects") or {}).values())
    for group in groups:
        for item in group:
            assert "kaapana.platform.%s - %s" % (item["name"], _words(item["description"])) in rst, item
