"""upgrade.yml and restore.yml on one lab node: a platform at fixture 0.5.3 (the lab's minor jump: Kaapana runs its
migration chart only when major.minor changes) is refused the jump to 0.6.0 that Kaapana's release notes forbid,
planned in check mode, upgraded to fixture 0.6.1 with a backup verified by checksums and the fixture migration
chart changing a file in the data directory, upgraded again (nothing to do), then restored to 0.5.3 (refused without
confirmation, planned in check mode, done, done again = nothing to do)."""
import json
import re
import shlex

import pytest

from tests.integration.nodes import (assert_rejected, changed_tasks, data_digest, helm_releases, lab_platform_vars,
                                     node_containers, node_exec, recap, run_playbook, shaped_lab, write_inventory)

pytestmark = [pytest.mark.lab, pytest.mark.slow]

NODE = "upg-main"
DOMAIN = "kaapana.upgrade.lab.internal"
FAST = "/home/kaapana"
BACKUPS = "/var/backups/kaapana"
FROM, TO = "0.5.3-lab", "0.6.1-lab"
BACKUP = "%s-%s-to-%s" % (DOMAIN, FROM, TO)
# Helm 4 (the helm snap's 4/stable) from the start; the platform starts at the lab's 0.5.3 shape.
SHAPE = {"helm_major": 4, "version": FROM}
NODE_TIMING = {"LAB_SNAPD_SEED_SECONDS": "2", "LAB_MICROK8S_ADDON_DELAY": "2", "LAB_NODE_READY_DELAY": "2"}

lab = shaped_lab(SHAPE)


def _group_vars(lab):
    return lab_platform_vars(
        lab, kaapana_platform_version=FROM, kaapana_helm_snap_channel="%d/stable" % SHAPE["helm_major"],
        kaapana_domain=DOMAIN, kaapana_keycloak_admin_password="Upgrade-Keycloak-1!",
        kaapana_credentials_minio_password="Upgrade-Minio-2!", kaapana_grafana_password="Upgrade-Grafana-3!",
        kaapana_platform_wait_settle=5, kaapana_platform_wait_progress_interval=3)


def _platform(lab):
    """{release name: chart version} of the deployed platform, storage-class and migration releases."""
    return {r["name"]: re.sub(r"^.*?-([0-9]+[.][0-9]+[.][0-9]+.*)$", r"\1", r["chart"])
            for r in helm_releases(lab, "--all-namespaces", check=False)
            if r["name"] in ("kaapana-admin-chart", "kaapana-storageclass", "kaapana-migration")
            and r["status"] == "deployed"}


def _backups(lab):
    return node_exec(lab, NODE, "sh", "-c", "ls -1 %s 2>/dev/null" % BACKUPS, check=False).stdout.split()


def _version_file(lab):
    return node_exec(lab, NODE, "cat", FAST + "/version", check=False).stdout.strip()


@pytest.fixture(scope="module")
def upg(lab, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("upgrade")
    with node_containers(lab, [NODE], timing=NODE_TIMING):
        inv = write_inventory(tmp / "hosts.yml", [NODE], [], group_vars=_group_vars(lab))
        res = run_playbook(lab, "site.yml", inv)
        assert res.returncode == 0, res.stdout[-4000:]
        # Patient data and a database file the fixture migration rewrites.
        node_exec(lab, NODE, "sh", "-c",
                  "mkdir -p {0}/dicom/1.2.3 {0}/postgres && head -c 65536 /dev/urandom > {0}/dicom/1.2.3/image.dcm "
                  "&& ln -s 1.2.3/image.dcm {0}/dicom/latest && printf 'kaapana-schema 0.5\\n' > {0}/postgres/PG_VERSION "
                  "&& chmod 600 {0}/postgres/PG_VERSION".format(FAST))
        try:
            yield {"inventory": inv, "before": data_digest(lab, NODE, FAST)}
            run_playbook(lab, "playbooks/undeploy.yml", inv,
                         extra_vars={"kaapana_purge_data": True, "kaapana_purge_confirm": DOMAIN})
        finally:
            for ns in ("admin", "services"):
                lab.kubectl_run("-n", ns, "delete", "secret", "certificate", "--ignore-not-found", check=False)


def test_the_platform_starts_at_the_old_version_with_its_version_file(lab, upg):
    assert _platform(lab) == {"kaapana-admin-chart": FROM}, _platform(lab)
    # Kaapana's version-file-writer Job wrote it (run on the node by the lab's host-job stand-in)
    assert _version_file(lab) == FROM


def test_upgrade_to_a_version_kaapana_cannot_migrate_to_is_refused_before_any_change(lab, upg):
    res = run_playbook(lab, "playbooks/upgrade.yml", upg["inventory"],
                       extra_vars={"kaapana_platform_version": "0.6.0-lab"})
    assert_rejected(res, ["kaapana_platform_version", "0.5.x to 0.6.0 is not possible", "Nothing was changed"],
                    not_reached=["Undeploy the old version"])
    assert _platform(lab) == {"kaapana-admin-chart": FROM}
    assert data_digest(lab, NODE, FAST) == upg["before"] and not _backups(lab)


def test_upgrade_in_check_mode_plans_and_changes_nothing(lab, upg):
    res = run_playbook(lab, "playbooks/upgrade.yml", upg["inventory"], extra_vars={"kaapana_platform_version": TO},
                       extra_args=["--check"])
    assert res.returncode == 0, res.stdout[-4000:]
    assert "changes major.minor (0.5 -> 0.6)" in res.stdout and BACKUP in res.stdout, res.stdout[-4000:]
    assert recap(res.stdout)[NODE]["changed"] == 0, changed_tasks(res.stdout)
    assert _platform(lab) == {"kaapana-admin-chart": FROM}
    assert data_digest(lab, NODE, FAST) == upg["before"] and not _backups(lab)


@pytest.mark.reliability('data safety', 'upgrade 0.5.3 -> 0.6.1: the backup verifies with sha256sum -c and holds the '
                         'pre-upgrade data byte for byte; the migration changed only what it migrates')
def test_upgrade_backs_up_migrates_and_deploys_the_new_version(lab, upg):
    res = run_playbook(lab, "playbooks/upgrade.yml", upg["inventory"], extra_vars={"kaapana_platform_version": TO})
    assert res.returncode == 0, res.stdout[-6000:]
    assert _platform(lab) == {"kaapana-admin-chart": TO, "kaapana-storageclass": TO}, _platform(lab)
    assert "Kaapana's migration 0.5.3-lab -> 0.6.1-lab succeeded" in res.stdout
    # The backup: Kaapana's data as it was, checked by the admin's own tool.
    backup = "%s/%s" % (BACKUPS, BACKUP)
    check = node_exec(lab, NODE, "sh", "-c", "cd %s && sha256sum -c --quiet SHA256SUMS" % shlex.quote(backup),
                      check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert data_digest(lab, NODE, backup + "/fast").replace(backup + "/fast", FAST) == upg["before"]
    mode = node_exec(lab, NODE, "stat", "-c", "%a", backup).stdout.strip()
    assert mode == "700"
    manifest = json.loads(node_exec(lab, NODE, "cat", backup + "/manifest.json").stdout)
    assert manifest["metadata"]["version"] == FROM and manifest["metadata"]["instance"] == DOMAIN
    # The fixture migration (0.5 -> 0.6) rewrote the database file and logged its step; the rest is untouched.
    after = data_digest(lab, NODE, FAST)
    changed = sorted(set(after.splitlines()) ^ set(upg["before"].splitlines()))
    changed_paths = sorted(set(line.split(None, 1)[1] for line in changed))
    assert changed_paths == sorted(FAST + p for p in ("/migration.log", "/postgres/PG_VERSION", "/version")), changed
    assert "0.6" in node_exec(lab, NODE, "cat", FAST + "/postgres/PG_VERSION").stdout
    assert _version_file(lab) == TO
    # As an admin would: the inventory names the version that is deployed now.
    write_inventory(upg["inventory"], [NODE], [], group_vars=dict(_group_vars(lab), kaapana_platform_version=TO))


def test_upgrade_again_has_nothing_to_do(lab, upg):
    res = run_playbook(lab, "playbooks/upgrade.yml", upg["inventory"])
    assert res.returncode == 0, res.stdout[-4000:]
    assert "at %s already: nothing to upgrade" % TO in res.stdout
    assert recap(res.stdout)[NODE]["changed"] == 0, changed_tasks(res.stdout)


def test_restore_without_confirmation_or_with_another_version_is_refused_before_any_change(lab, upg):
    before = data_digest(lab, NODE, FAST)
    res = run_playbook(lab, "playbooks/restore.yml", upg["inventory"], extra_vars={"kaapana_restore_backup": BACKUP})
    assert_rejected(res, ["kaapana_restore_confirm must repeat the name of the backup", "Nothing was changed"],
                    not_reached=["Undeploy the platform"])
    # -e kaapana_platform_version would win over the backup's version and deploy it over the restored data
    res = run_playbook(lab, "playbooks/restore.yml", upg["inventory"], extra_vars={
        "kaapana_platform_version": TO, "kaapana_restore_backup": BACKUP, "kaapana_restore_confirm": BACKUP})
    assert_rejected(res, ["kaapana_platform_version is given as an extra variable", FROM, "Nothing was changed"],
                    not_reached=["Undeploy the platform"])
    assert _platform(lab)["kaapana-admin-chart"] == TO and data_digest(lab, NODE, FAST) == before


def test_restore_in_check_mode_changes_nothing(lab, upg):
    before = data_digest(lab, NODE, FAST)
    res = run_playbook(lab, "playbooks/restore.yml", upg["inventory"], extra_args=["--check"],
                       extra_vars={"kaapana_restore_backup": BACKUP, "kaapana_restore_confirm": BACKUP})
    assert res.returncode == 0, res.stdout[-4000:]
    assert "restore fast" in res.stdout and "deploy %s" % FROM in res.stdout, res.stdout[-4000:]
    assert recap(res.stdout)[NODE]["changed"] == 0, changed_tasks(res.stdout)
    assert _platform(lab)["kaapana-admin-chart"] == TO and data_digest(lab, NODE, FAST) == before


@pytest.mark.reliability('data safety', 'restore.yml puts back the pre-upgrade data byte for byte and the old version; '
                         'the data it replaced is moved aside, not deleted')
def test_restore_brings_back_the_old_version_and_its_data(lab, upg):
    migrated = data_digest(lab, NODE, FAST)
    vars_ = {"kaapana_restore_backup": BACKUP, "kaapana_restore_confirm": BACKUP}
    res = run_playbook(lab, "playbooks/restore.yml", upg["inventory"], extra_vars=vars_)
    assert res.returncode == 0, res.stdout[-6000:]
    assert _platform(lab) == {"kaapana-admin-chart": FROM}, _platform(lab)
    assert data_digest(lab, NODE, FAST) == upg["before"]
    kept = node_exec(lab, NODE, "sh", "-c", "ls -d %s.replaced-*" % FAST).stdout.split()
    assert len(kept) == 1, kept
    assert data_digest(lab, NODE, kept[0]).replace(kept[0], FAST) == migrated
    # Again: restored already and the old version still deployed -> nothing to do.
    res = run_playbook(lab, "playbooks/restore.yml", upg["inventory"], extra_vars=vars_)
    assert res.returncode == 0, res.stdout[-4000:]
    assert "nothing to do" in res.stdout
    assert recap(res.stdout)[NODE]["changed"] == 0, changed_tasks(res.stdout)
    node_exec(lab, NODE, "sh", "-c", "rm -rf %s.replaced-*" % FAST)


def test_a_new_upgrade_does_not_reuse_the_older_backup(lab, upg):
    # The old version runs again (restored) and may hold data newer than the backup of the first upgrade: reusing
    # that backup would leave today's data unprotected. The inventory still names the new version.
    res = run_playbook(lab, "playbooks/upgrade.yml", upg["inventory"])
    assert_rejected(res, ["kaapana_upgrade_backup_name", "exists from an earlier upgrade", "Nothing was changed"],
                    not_reached=["Undeploy the old version"])
    assert _platform(lab) == {"kaapana-admin-chart": FROM}
