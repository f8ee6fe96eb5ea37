# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Checks of Longhorn's backup settings before any change, with the rules Longhorn 1.10's admission webhook and
backup store apply (longhorn-manager webhook/resources/backuptarget and recurringjob validators, datastore
ValidateBackupTargetURL / ValidateRecurringJob, longhorn/backupstore's URL parsers): a refused URL or job would
otherwise surface only as a failed write after the chart was upgraded, or as a manager that crash-loops.

Messages name the variable and the accepted form; credential values are never repeated."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Which credential keys each protocol needs (engineapi/backups.go; for cifs and azblob, the backup store's client).
SCHEMES = {
    "nfs": {"needs": [], "form": "nfs://SERVER:/EXPORTED/PATH"},
    "s3": {"needs": [["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"], ["AWS_IAM_ROLE_ARN"]],
           "form": "s3://BUCKET@REGION/PATH/ (or s3://BUCKET/PATH with AWS_ENDPOINTS for an S3-compatible store)"},
    "cifs": {"needs": [["CIFS_USERNAME", "CIFS_PASSWORD"]], "form": "cifs://SERVER/SHARE/PATH"},
    "azblob": {"needs": [["AZBLOB_ACCOUNT_NAME", "AZBLOB_ACCOUNT_KEY"]], "form": "azblob://CONTAINER@ENDPOINT/PATH"},
}
# The keys longhorn-manager reads from the credential Secret.
CREDENTIAL_KEYS = frozenset([
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINTS", "AWS_CERT", "AWS_IAM_ROLE_ARN",
    "CIFS_USERNAME", "CIFS_PASSWORD", "AZBLOB_ACCOUNT_NAME", "AZBLOB_ACCOUNT_KEY", "AZBLOB_ENDPOINT", "AZBLOB_CERT",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "VIRTUAL_HOSTED_STYLE"])
URL_FORMS = {
    "nfs": re.compile(r"^nfs://[^/:\s]+:/\S+$"),
    "s3": re.compile(r"^s3://[^@/\s]+(@[^/\s]+)?/\S*$"),
    "cifs": re.compile(r"^cifs://[^/\s]+/\S+$"),
    "azblob": re.compile(r"^azblob://[^@/\s]+@[^/\s]+/\S*$"),
}
CRON_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
CRON_FIELD = re.compile(r"^[0-9A-Za-z*?/,-]+$")
MAX_RETAIN = 100  # Longhorn's setting recurring-job-max-retention, default 100


def target_errors(target, credentials):
    """Why Longhorn would refuse kaapana_longhorn_backup_target with these credentials; [] when it would not."""
    target = str(target or "").strip()
    credentials = credentials or {}
    errors = []
    if not isinstance(credentials, dict):
        return ["kaapana_longhorn_backup_credentials must be a mapping of Secret keys (such as AWS_ACCESS_KEY_ID) "
                "to values."]
    unknown = sorted(k for k in credentials if k not in CREDENTIAL_KEYS)
    if unknown:
        errors.append("kaapana_longhorn_backup_credentials: Longhorn reads no key %s; it reads %s." % (
            ", ".join(unknown), ", ".join(sorted(CREDENTIAL_KEYS))))
    padded = sorted(k for k, v in credentials.items() if str(v) != str(v).strip())
    if padded:
        errors.append("kaapana_longhorn_backup_credentials: the value of %s starts or ends with white space or a line "
                      "break, which Longhorn refuses (value not shown)." % ", ".join(padded))
    if not target:
        return errors
    scheme = target.split("://", 1)[0].lower() if "://" in target else ""
    if scheme not in SCHEMES:
        errors.append("kaapana_longhorn_backup_target: Longhorn does not support the protocol %r of %s; it takes "
                      "nfs://, s3://, cifs:// or azblob:// URLs." % (scheme or "(none)", target))
        return errors
    rule = SCHEMES[scheme]
    if not URL_FORMS[scheme].match(target):
        errors.append("kaapana_longhorn_backup_target: %s is not a %s backup target; the form is %s." % (
            target, scheme, rule["form"]))
    path = target.split("://", 1)[1].split("?", 1)[0]
    if "," in path or ("$" in path and scheme != "cifs"):
        errors.append("kaapana_longhorn_backup_target: Longhorn refuses '$' and ',' in the path of %s." % target)
    if rule["needs"] and not any(all(credentials.get(k) for k in group) for group in rule["needs"]):
        errors.append("kaapana_longhorn_backup_credentials: a %s backup target needs %s (written to the Secret "
                      "kaapana_longhorn_backup_secret)." % (
                          scheme, " or ".join(" and ".join(group) for group in rule["needs"])))
    return errors


def cron_error(name, schedule):
    """Why Longhorn would refuse a cron schedule (5 fields as robfig/cron's standard parser, or a descriptor)."""
    text = str(schedule or "").strip()
    if text.startswith("@"):
        if text in CRON_DESCRIPTORS or re.match(r"^@every [0-9]+(h|m|s)([0-9]+(m|s))*$", text):
            return None
    else:
        fields = text.split()
        if len(fields) == 5 and all(CRON_FIELD.match(f) for f in fields):
            return None
    return ("%s: %r is not a cron schedule Longhorn accepts: five fields (minute hour day-of-month month day-of-week, "
            "such as '0 2 * * *' for 02:00 every day) or @daily, @weekly, @hourly." % (name, str(schedule)))


def backup_errors(target, credentials, jobs):
    """target_errors plus the recurring jobs' rules. jobs: [{"var", "schedule", "retain_var", "retain", "backup"}]:
    a job with an empty schedule is not wanted; a backup job needs a target."""
    errors = target_errors(target, credentials)
    for job in jobs or []:
        schedule = str(job.get("schedule") or "").strip()
        if not schedule:
            continue
        error = cron_error(job["var"], schedule)
        if error:
            errors.append(error)
        try:
            retain = int(job.get("retain"))
        except (TypeError, ValueError):
            retain = None
        if retain is None or not 1 <= retain <= MAX_RETAIN:
            errors.append("%s: %r; Longhorn keeps 1 to %d per job (its setting recurring-job-max-retention)." % (
                job["retain_var"], job.get("retain"), MAX_RETAIN))
        if job.get("backup") and not str(target or "").strip():
            errors.append("%s is set but kaapana_longhorn_backup_target is empty: a backup job needs a backup "
                          "target (an NFS or S3 URL)." % job["var"])
    return errors
