"""plugin_utils/longhorn_backup.py: Longhorn 1.10's rules for backup targets and recurring jobs."""
import pytest

from ansible_collections.kaapana.platform.plugins.filter.storage import longhorn_backup_errors
from ansible_collections.kaapana.platform.plugins.plugin_utils import longhorn_backup as lb

S3 = {"AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret-value-9"}


@pytest.mark.parametrize("target,credentials", [
    ("", {}),
    ("nfs://nfs.example.org:/export/longhorn", {}),
    ("nfs://10.0.0.5:/backups?nfsOptions=soft,timeo=150", {}),
    ("s3://kaapana-backups@eu-central-1/longhorn/", S3),
    ("s3://kaapana-backups/longhorn", dict(S3, AWS_ENDPOINTS="https://minio.example.org")),
    ("s3://kaapana-backups@us-east-1/", {"AWS_IAM_ROLE_ARN": "arn:aws:iam::1:role/x"}),
    ("cifs://fileserver/share$/longhorn", {"CIFS_USERNAME": "u", "CIFS_PASSWORD": "p"}),
    ("azblob://backups@core.windows.net/", {"AZBLOB_ACCOUNT_NAME": "a", "AZBLOB_ACCOUNT_KEY": "k"}),
])
def test_targets_longhorn_accepts(target, credentials):
    assert lb.target_errors(target, credentials) == []


def test_an_unsupported_protocol_is_named():
    assert lb.target_errors("http://backup.example.org/longhorn", {}) == [
        "kaapana_longhorn_backup_target: Longhorn does not support the protocol 'http' of "
        "http://backup.example.org/longhorn; it takes nfs://, s3://, cifs:// or azblob:// URLs."]


def test_malformed_urls_name_the_form():
    errors = lb.target_errors("nfs://nfs.example.org/export", {})
    assert errors == ["kaapana_longhorn_backup_target: nfs://nfs.example.org/export is not a nfs backup target; the "
                      "form is nfs://SERVER:/EXPORTED/PATH."]
    assert "'$' and ','" in lb.target_errors("s3://b@r/a,b/", S3)[0]


def test_s3_without_credentials_names_the_keys():
    assert lb.target_errors("s3://kaapana@eu-central-1/x/", {"AWS_ACCESS_KEY_ID": "id"}) == [
        "kaapana_longhorn_backup_credentials: a s3 backup target needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or "
        "AWS_IAM_ROLE_ARN (written to the Secret kaapana_longhorn_backup_secret)."]


def test_credentials_unknown_keys_and_padded_values_without_showing_values():
    errors = lb.target_errors("s3://b@r/p/", dict(S3, AWS_SECRET_ACCESS_KEY="secret-value-9\n", AWS_KEY="x"))
    assert len(errors) == 2, errors
    assert errors[0].startswith("kaapana_longhorn_backup_credentials: Longhorn reads no key AWS_KEY;")
    assert "AWS_SECRET_ACCESS_KEY starts or ends with white space" in errors[1]
    assert not [e for e in errors if "secret-value-9" in e]
    assert lb.target_errors("", ["x"])[0].startswith("kaapana_longhorn_backup_credentials must be a mapping")


@pytest.mark.parametrize("schedule,ok", [
    ("0 2 * * *", True), ("*/30 1-5 * * MON-FRI", True), ("@daily", True), ("@every 6h", True),
    ("0 2 * *", False), ("0 2 * * * *", False), ("daily", False), ("@sometimes", False), ("0 2 * * ;", False)])
def test_cron_schedules(schedule, ok):
    assert (lb.cron_error("kaapana_longhorn_snapshot_schedule", schedule) is None) is ok


def _jobs(snapshot="", backup="", snapshot_retain=7, backup_retain=14):
    return [{"var": "kaapana_longhorn_snapshot_schedule", "schedule": snapshot,
             "retain_var": "kaapana_longhorn_snapshot_retain", "retain": snapshot_retain, "backup": False},
            {"var": "kaapana_longhorn_backup_schedule", "schedule": backup,
             "retain_var": "kaapana_longhorn_backup_retain", "retain": backup_retain, "backup": True}]


def test_jobs_rules():
    assert longhorn_backup_errors("nfs://n:/b", {}, _jobs("0 1 * * *", "0 2 * * *")) == []
    # an empty schedule is no job: its retain count is not checked
    assert longhorn_backup_errors("", {}, _jobs(snapshot_retain=0)) == []
    assert longhorn_backup_errors("", {}, _jobs(backup="0 2 * * *")) == [
        "kaapana_longhorn_backup_schedule is set but kaapana_longhorn_backup_target is empty: a backup job needs a "
        "backup target (an NFS or S3 URL)."]
    assert longhorn_backup_errors("nfs://n:/b", {}, _jobs("0 1 * * *", snapshot_retain=101)) == [
        "kaapana_longhorn_snapshot_retain: 101; Longhorn keeps 1 to 100 per job (its setting "
        "recurring-job-max-retention)."]
