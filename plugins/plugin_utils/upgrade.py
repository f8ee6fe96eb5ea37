# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""What a platform upgrade has to do, decided before anything changes (playbooks/upgrade.yml), and the values of
Kaapana's migration chart.

Kaapana's own rules, read upstream (release/0.6.1):
- kaapanactl.sh `migrate` reads `$FAST_DATA_DIR/version` and runs the migration chart only when major.minor
  differs from the version being deployed; a patch upgrade is a redeploy.
- migration-chart's migration.py refuses a change of the major version ("Major version migration not supported
  yet") and chains minor steps (0.4 -> 0.5 -> 0.6), with scripts from 0.3.x on.
- docs/source/releases.rst, v0.6.0 "Known problems": migrating from 0.5.x to 0.6.0 is not possible (multi-node
  changes); the patch release after it carries the 0.5.x -> 0.6.x migration.
- There is no downgrade: data migrated forward cannot be migrated back; the way back is the backup.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

VERSION_RE = re.compile(r"^v?(?P<major>[0-9]+)\.(?P<minor>[0-9]+)(\.(?P<patch>[0-9]+))?(?P<rest>[-+].*)?$")
# Oldest version Kaapana's migration chart has a script for (migration-0.3.x-0.4.x.sh).
OLDEST_MIGRATION_SOURCE = (0, 3)
# (from major.minor, to exact version) jumps Kaapana's release notes say are impossible, with the reason.
BLOCKED_JUMPS = {
    ((0, 5), (0, 6, 0)): ("Kaapana's release notes for 0.6.0 (docs/source/releases.rst, Known problems): migrating "
                          "from 0.5.x to 0.6.0 is not possible because of the multi-node changes; 0.6.1 carries the "
                          "0.5.x -> 0.6.x migration. Set kaapana_platform_version to 0.6.1 or later."),
}


class UpgradeError(Exception):
    """A version string that is not a Kaapana version."""


def parse_version(text):
    """(major, minor, patch) of a Kaapana version: a chart version (0.6.1, 0.6.1-lab, v0.6.1) or the content of
    `$FAST_DATA_DIR/version` (Kaapana writes the build version there, migration.py writes `<major>.<minor>`).
    patch is None when absent. Raises UpgradeError for anything else."""
    match = VERSION_RE.match(str(text or "").strip())
    if not match:
        raise UpgradeError("%r is not a Kaapana version (MAJOR.MINOR[.PATCH][-BUILD])" % (text,))
    patch = match.group("patch")
    return int(match.group("major")), int(match.group("minor")), None if patch is None else int(patch)


def _mm(version):
    return "%d.%d" % version[:2]


def upgrade_plan(deployed, version_file, target, fast_data_dir="$FAST_DATA_DIR"):
    """What upgrade.yml does to go from what is deployed to `target` (kaapana_platform_version).

    deployed: the chart version of the platform release ('' when no release is there, e.g. after an undeploy or a
    failed upgrade); version_file: the content of <fast data dir>/version ('' when missing); target: the version to
    deploy. Returns {action: 'none' | 'upgrade' | 'refuse', migrate (run the migration chart), from_version (the
    migration chart's global.from_version: the version file, as kaapanactl passes it, else the release's version),
    current (the version the platform is at), reason (one sentence for the admin), warnings}."""
    deployed = str(deployed or "").strip()
    version_file = str(version_file or "").strip()
    target = str(target or "").strip()
    result = {"action": "refuse", "migrate": False, "from_version": "", "current": deployed or version_file,
              "target": target, "reason": "", "warnings": []}
    try:
        to = parse_version(target)
    except UpgradeError as err:
        result["reason"] = "kaapana_platform_version: %s." % err
        return result
    if to[2] is None:
        result["reason"] = ("kaapana_platform_version %s names no patch version: give the chart version to deploy, "
                            "such as 0.6.1." % target)
        return result
    on_disk = None
    if version_file:
        try:
            on_disk = parse_version(version_file)
        except UpgradeError:
            result["warnings"].append("%s/version holds %r, which is no version: it is ignored." %
                                      (fast_data_dir, version_file[:40]))
    if deployed:
        current = parse_version(deployed)
        if on_disk and on_disk[:2] != current[:2]:
            result["warnings"].append(
                "%s/version says %s but the deployed release is %s: the migration starts from the file's version, "
                "as kaapanactl's." % (fast_data_dir, version_file, deployed))
    elif on_disk:
        current = on_disk
        result["warnings"].append(
            "No platform release is deployed; %s/version says %s: the upgrade starts from there (an earlier upgrade "
            "stopped after the undeploy?)." % (fast_data_dir, version_file))
    else:
        result["reason"] = ("No Kaapana platform is deployed and %s/version is missing: there is nothing to upgrade. "
                            "Deploy with site.yml (or deploy.yml) instead." % fast_data_dir)
        return result
    result["current"] = deployed or version_file
    result["from_version"] = version_file if on_disk else deployed
    source = on_disk or current

    if deployed and deployed == target:
        result["action"] = "none"
        result["reason"] = "The platform is at %s already: nothing to upgrade." % target
        return result
    if current[0] != to[0]:
        result["reason"] = ("%s -> %s changes the major version: Kaapana's migration chart does not migrate across "
                            "major versions (migration.py: 'Major version migration not supported yet')." %
                            (result["current"], target))
        return result
    if (current[1], current[2] or 0) > (to[1], to[2]) or (source[:2] > to[:2]):
        result["reason"] = ("%s -> %s is a downgrade: Kaapana migrates data forward only. To go back, restore the "
                            "backup made before the upgrade with playbooks/restore.yml." % (result["current"], target))
        return result
    blocked = BLOCKED_JUMPS.get((source[:2], to))
    if blocked:
        result["reason"] = "%s -> %s is not supported: %s" % (result["current"], target, blocked)
        return result
    if source[:2] != to[:2] and source[:2] < OLDEST_MIGRATION_SOURCE:
        result["reason"] = ("%s -> %s: Kaapana's migration chart has scripts from %d.%d.x on; migrate older data by "
                            "hand first (Kaapana's docs/source/migration_guide)." %
                            ((result["current"], target) + OLDEST_MIGRATION_SOURCE))
        return result
    result["action"] = "upgrade"
    result["migrate"] = source[:2] != to[:2]
    if result["migrate"]:
        result["reason"] = ("%s -> %s changes major.minor (%s -> %s): back up, undeploy, run Kaapana's migration "
                            "chart, deploy %s." % (result["current"], target, _mm(source), _mm(to), target))
    else:
        result["reason"] = ("%s -> %s keeps major.minor %s: back up, undeploy and deploy %s (no migration, as "
                            "kaapanactl)." % (result["current"], target, _mm(to), target))
    return result


# The --set-string line of kaapanactl.sh 0.6.1's run_migration_chart, in its order, as keys of the platform
# chart's global values (None: not a chart value; filled from the arguments).
MIGRATION_KEYS = ("credentials_registry_username", "credentials_registry_password", "fast_data_dir", "slow_data_dir",
                  "storage_provider", "storage_class_slow", "storage_class_fast", "storage_class_workflow",
                  "services_namespace", "admin_namespace", "pull_policy_images", "registry_url",
                  "kaapana_build_version", "volume_slow_data", "from_version", "to_version")


def migration_values(chart_values, storage_provider, from_version, to_version):
    """The migration chart's values as kaapanactl.sh 0.6.1 passes them (all --set-string), taken from the platform
    chart's computed values (the same registry, data directories, namespaces and classes the deploy uses)."""
    g = dict((chart_values or {}).get("global") or {})
    extra = {"storage_provider": storage_provider, "kaapana_build_version": to_version,
             "from_version": from_version, "to_version": to_version}
    missing = [k for k in MIGRATION_KEYS if k not in extra and k not in g]
    if missing:
        raise UpgradeError("the chart values lack %s" % ", ".join("global.%s" % k for k in missing))
    return {"global": dict((k, str(extra[k] if k in extra else g[k])) for k in MIGRATION_KEYS)}
