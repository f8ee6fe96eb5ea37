# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""The release manager of kaapana.platform.helm_release and helm_release_info: desired-vs-deployed comparison,
the state=present/absent and recovery decisions, ReleaseManager (the orchestration on top of a HelmRunner) and
list_releases. The helm CLI (3.13+ or 4) is used, with the flags of its major (helm_version); no Helm plugin is
needed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import time

from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.kaapana.platform.plugins.module_utils.chart_ref import parse_oci_ref
from ansible_collections.kaapana.platform.plugins.module_utils.helm_args import (
    normalize_timeout,
    validate_namespace,
    validate_release_name,
)
from ansible_collections.kaapana.platform.plugins.module_utils.helm_chart import chart_source, load_chart
from ansible_collections.kaapana.platform.plugins.module_utils.helm_commands import (
    cmd_get_release,
    cmd_get_values,
    cmd_history,
    cmd_install,
    cmd_list,
    cmd_pull,
    cmd_registry_login,
    cmd_rollback,
    cmd_template,
    cmd_uninstall,
    cmd_upgrade,
)
from ansible_collections.kaapana.platform.plugins.module_utils.helm_errors import (
    HelmError,
    classify_error,
    is_release_not_found,
    is_transient_pull_error,
    retry_delays,
)
from ansible_collections.kaapana.platform.plugins.module_utils.helm_output import (
    filter_and_sort_releases,
    parse_history,
    parse_list,
    parse_pull_digest,
    parse_release,
    parse_release_template,
    parse_values,
)
from ansible_collections.kaapana.platform.plugins.module_utils.helm_values import (
    check_values_mapping,
    load_values_file,
    merge_values,
    normalize_json,
    pick_values,
    values_to_text,
)
from ansible_collections.kaapana.platform.plugins.module_utils.helm_version import server_side_flags


# --------------------------------------------------------------------------------------
# Comparison and decisions
# --------------------------------------------------------------------------------------


def compare_release(desired_chart, desired_values, deployed):
    """List the differences between the desired chart/values and a deployed release (empty: equal).

    * chart name, version and appVersion (Chart.yaml),
    * chart content digest: templates, files and values.schema.json as stored in the release,
    * the chart's default values (values.yaml) when the chart has no dependencies (helm
      rewrites the stored defaults of charts with dependencies),
    * the user-supplied values (``helm get values``) against the merged values/values_files.
    """
    changes = []
    if desired_chart["name"] != deployed["chart"]:
        changes.append("chart name: %s -> %s" % (deployed["chart"], desired_chart["name"]))
    if desired_chart["version"] != deployed["chart_version"]:
        changes.append("chart version: %s -> %s" % (deployed["chart_version"], desired_chart["version"]))
    if to_text(desired_chart.get("app_version") or "") != to_text(deployed.get("app_version") or ""):
        changes.append("app version: %s -> %s" % (deployed.get("app_version") or "(none)",
                                                  desired_chart.get("app_version") or "(none)"))
    if not changes:
        if desired_chart.get("digest") and desired_chart["digest"] != deployed.get("digest"):
            changes.append("chart content (templates/files) differs at the same chart version")
        elif not desired_chart.get("has_dependencies") and not deployed.get("has_dependencies") \
                and "default_values" in desired_chart \
                and normalize_json(desired_chart["default_values"]) != deployed.get("chart_values"):
            changes.append("chart default values (values.yaml) differ at the same chart version")
    if normalize_json(desired_values or {}) != normalize_json(deployed.get("config") or {}):
        changes.append("values differ from the deployed user-supplied values")
    return changes


PENDING_ROLLBACK_STATES = ("pending-upgrade", "pending-rollback")
REINSTALL_STATES = ("pending-install", "uninstalling")


def decide_present(status, changes, upgrade=True, atomic=False):
    """What state=present does with a release in ``status`` (None: no release).

    Returns one of: ``install``, ``install-replace`` (name kept by an uninstalled release),
    ``reinstall`` (uninstall, then install), ``rollback`` (to the last deployed revision, then
    compare again), ``upgrade``, ``drift`` (differences, but upgrade=false) or ``none``.
    """
    if status is None:
        return "install"
    if status == "uninstalled":
        return "install-replace"
    if status in REINSTALL_STATES:
        return "reinstall"
    if status in PENDING_ROLLBACK_STATES:
        return "rollback"
    if status == "failed":
        return "rollback" if atomic else "upgrade"
    if status in ("deployed", "superseded"):
        if not changes:
            return "none"
        return "upgrade" if upgrade else "drift"
    raise HelmError("release is in status %r, which this module cannot recover; inspect it with helm history" % status)


def decide_absent(status):
    """``uninstall`` or ``none`` for state=absent."""
    if status is None or status == "uninstalled":
        return "none"
    return "uninstall"


def pick_rollback_revision(history, current_revision):
    """Newest revision before ``current_revision`` that was deployed (deployed or superseded).

    Returns None when there is none (e.g. history trimmed by --history-max).
    """
    best = None
    for item in history:
        if item["revision"] < current_revision and item["status"] in ("deployed", "superseded"):
            if best is None or item["revision"] > best:
                best = item["revision"]
    return best


def recovery_message(status, action, revision=None, target=None):
    """Human-readable `recovered` text."""
    if action == "reinstall":
        return "%s: uninstalled revision %s and installed again" % (status, revision)
    if action == "rollback":
        if target is None:
            return "%s: no earlier deployed revision, re-applied revision %s with helm rollback" % (status, revision)
        return "%s: rolled back revision %s to last deployed revision %s" % (status, revision, target)
    if action == "upgrade":
        return "%s: upgraded failed revision %s" % (status, revision)
    return None


def manifest_documents(manifest):
    """Normalized manifest text for comparisons/diffs: documents stripped, empty ones dropped."""
    docs = []
    for doc in re.split(r"(?m)^---\s*$", to_text(manifest or "")):
        doc = "\n".join(line.rstrip() for line in doc.strip().splitlines())
        if doc:
            docs.append(doc)
    return "---\n" + "\n---\n".join(docs) + "\n" if docs else ""


# --------------------------------------------------------------------------------------
# Release manager
# --------------------------------------------------------------------------------------

class ReleaseManager:
    """state=present/absent logic of helm_release on top of a HelmRunner."""

    def __init__(self, module, runner, params, check_mode=False, diff_mode=False, tmpdir=None):
        self.module = module
        self.runner = runner
        self.p = params
        self.check_mode = check_mode
        self.diff_mode = diff_mode
        self.tmpdir = tmpdir or module.tmpdir
        self.warnings = []
        self.registry = params.get("registry") or {}
        self.secrets = [self.registry.get("password")] if self.registry.get("password") else []
        self._values_file = None
        self.timeout, err = normalize_timeout(params.get("timeout"))
        if err:
            raise HelmError(err)

    # -- helpers -----------------------------------------------------------------------
    def _fail_on(self, rc, err, stage, **kw):
        if rc != 0:
            raise HelmError(classify_error(err, stage, chart_ref=self.p.get("chart_ref"),
                                           chart_version=self.p.get("chart_version"),
                                           host=kw.get("host"), secrets=self.secrets))

    def status(self):
        rc, out, err = self.runner.run(cmd_get_release(self.p["name"], self.p["namespace"], manifest=self.diff_mode))
        if rc != 0:
            if is_release_not_found(err):
                return None
            self._fail_on(rc, err, "status")
        return parse_release_template(out)

    def values_file(self, values):
        if self._values_file is None:
            path = os.path.join(self.tmpdir, "kaapana-helm-values.json")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            # JSON is YAML, but helm's YAML parser rejects \u surrogate pairs: write UTF-8, not ASCII escapes
            with os.fdopen(fd, "wb") as handle:
                handle.write(to_bytes(json.dumps(values, sort_keys=True, ensure_ascii=False), errors="surrogate_or_strict"))
            self._values_file = path
        return self._values_file

    def _run_retrying(self, argv, stage, host=None, data=None):
        """runner.run, tried again after transient network errors (pull_retries). When every attempt failed
        that way, fails with the classified message and the number of attempts."""
        delays = retry_delays(self.p.get("pull_retries", 3))
        rc, out, err = self.runner.run(argv, data=data)
        attempts = 1
        for delay in delays:
            if rc == 0 or not is_transient_pull_error(err):
                break
            self.sleep(delay)
            rc, out, err = self.runner.run(argv, data=data)
            attempts += 1
        if rc != 0 and attempts > 1 and is_transient_pull_error(err):
            raise HelmError("%s; gave up after %d attempts over %d s (pull_retries=%d)" % (
                classify_error(err, stage, chart_ref=self.p.get("chart_ref"), chart_version=self.p.get("chart_version"),
                               host=host, secrets=self.secrets),
                attempts, sum(delays[:attempts - 1]), len(delays)))
        return rc, out, err

    def sleep(self, seconds):
        time.sleep(seconds)

    def login(self, host):
        username = self.registry.get("username")
        password = self.registry.get("password")
        rc, _out, err = self._run_retrying(cmd_registry_login(host, username, self.p.get("plain_http")), "login", host,
                                           data=password)
        self._fail_on(rc, err, "login", host=host)

    def resolve_chart(self):
        """Chart info (name, version, digest, ...) and a local path usable by install/upgrade/template."""
        ref = self.p["chart_ref"]
        source = chart_source(ref, self.p.get("repo_url"))
        if source == "local":
            chart = load_chart(os.path.expanduser(ref))
            if self.p.get("chart_version") and self.p["chart_version"] != chart["version"]:
                raise HelmError("chart_version %s does not match version %s of the local chart at chart_ref %s"
                                % (self.p["chart_version"], chart["version"], ref))
            return chart
        dest = os.path.join(self.tmpdir, "chart-pull")
        if not os.path.isdir(dest):
            os.makedirs(dest, 0o700)
        oci = parse_oci_ref(ref) if source == "oci" else None
        host = (oci["host"] or None) if oci else None
        has_creds = bool(self.registry.get("username") and self.registry.get("password"))
        if self.registry.get("host"):
            host = self.registry["host"]
        if source == "oci" and has_creds and host:
            # The credentials live for this run only: helm keeps what it logs in with in a registry configuration
            # in the module's private temporary directory, removed when the module ends, never in ~/.config/helm
            # (it stores user:password there, merely base64-encoded).
            self.runner.environ["HELM_REGISTRY_CONFIG"] = os.path.join(self.tmpdir, "helm-registry-config.json")
            self.login(host)
        argv = cmd_pull(ref, dest, self.p.get("chart_version"), self.p.get("repo_url"), self.p.get("plain_http"))
        rc, out, err = self._run_retrying(argv, "pull", host)
        self._fail_on(rc, err, "pull", host=host)
        archives = [f for f in os.listdir(dest) if f.endswith(".tgz")]
        if len(archives) != 1:
            raise HelmError("helm pull of chart_ref %s left %d archives, expected one" % (ref, len(archives)))
        chart = load_chart(os.path.join(dest, archives[0]))
        chart["oci_digest"] = parse_pull_digest(out) or parse_pull_digest(err)
        if oci and oci["name"] != chart["name"]:
            self.warnings.append("chart_ref %s holds chart %s" % (ref, chart["name"]))
        return chart

    def render(self, chart, values, is_upgrade):
        rc, out, err = self.runner.run(cmd_template(self.p["name"], chart["path"], self.p["namespace"],
                                                    self.values_file(values), is_upgrade))
        if rc != 0:
            self.warnings.append("diff: cannot render the chart with helm template: %s"
                                 % classify_error(err, "template", chart_ref=self.p.get("chart_ref"),
                                                  secrets=self.secrets))
            return None
        return out

    def make_diff(self, deployed, chart, values):
        before_values = deployed["config"] if deployed else {}
        before_manifest = deployed["manifest"] if deployed and deployed["status"] != "uninstalled" else ""
        diff = [{
            "before_header": "values (deployed)", "after_header": "values (desired)",
            "before": values_to_text(before_values), "after": values_to_text(values),
        }]
        if chart is not None:
            rendered = self.render(chart, values, is_upgrade=bool(before_manifest))
            if rendered is not None:
                diff.append({
                    "before_header": "manifest (helm get manifest)", "after_header": "manifest (helm template)",
                    "before": manifest_documents(before_manifest), "after": manifest_documents(rendered),
                })
        return diff

    def _opts(self):
        return dict(wait=self.p.get("wait"), timeout=self.timeout, no_hooks=self.p.get("no_hooks"), major=self.runner.major)

    def install(self, chart, values, replace=False):
        argv = cmd_install(self.p["name"], chart["path"], self.p["namespace"], self.values_file(values),
                           create_namespace=self.p.get("create_namespace"), atomic=self.p.get("atomic"),
                           replace=replace, server_side=self.p.get("server_side"), **self._opts())
        rc, out, err = self.runner.run(argv)
        self._fail_on(rc, err, "install")
        return parse_release(out)

    def upgrade(self, chart, values):
        argv = cmd_upgrade(self.p["name"], chart["path"], self.p["namespace"], self.values_file(values),
                           atomic=self.p.get("atomic"), server_side=self.p.get("server_side"), **self._opts())
        rc, out, err = self.runner.run(argv)
        self._fail_on(rc, err, "upgrade")
        return parse_release(out)

    def uninstall(self, no_hooks=None):
        opts = self._opts()
        if no_hooks is not None:
            opts["no_hooks"] = no_hooks
        argv = cmd_uninstall(self.p["name"], self.p["namespace"], keep_history=self.p.get("keep_history"), **opts)
        rc, _out, err = self.runner.run(argv)
        if rc != 0 and is_release_not_found(err):
            return
        self._fail_on(rc, err, "uninstall")

    def rollback(self, revision):
        rc, _out, err = self.runner.run(cmd_rollback(self.p["name"], self.p["namespace"], revision,
                                                     server_side=self.p.get("server_side"), **self._opts()))
        self._fail_on(rc, err, "rollback")

    def history(self):
        rc, out, err = self.runner.run(cmd_history(self.p["name"], self.p["namespace"]))
        self._fail_on(rc, err, "history")
        return parse_history(out)

    # -- main entry points ------------------------------------------------------------------
    def desired_values(self):
        file_values = [load_values_file(os.path.expanduser(path)) for path in self.p.get("values_files") or []]
        return normalize_json(merge_values(file_values, check_values_mapping(self.p.get("values"))))

    def run(self):
        for err in (validate_release_name(self.p["name"]), validate_namespace(self.p["namespace"])):
            if err:
                raise HelmError(err)
        if self.p.get("state", "present") == "absent":
            self.runner.detect_version()
            return self.ensure_absent()
        values = self.desired_values()
        if not self.p.get("chart_ref"):
            raise HelmError("chart_ref is required when state=present")
        # The major decides the flags; an unsupported helm (or server_side=true on Helm 3) fails before any change.
        server_side_flags(self.runner.major, self.p.get("server_side"), "upgrade")
        return self.ensure_present(values)

    def result(self, changed, release, **extra):
        res = dict(changed=changed, name=self.p["name"], namespace=self.p["namespace"],
                   status=None, revision=None, chart=None, chart_version=None, app_version=None,
                   recovered=None, changes=[], drift=False)
        if release:
            res.update(status=release["status"], revision=release["revision"], chart=release["chart"] or None,
                       chart_version=release["chart_version"] or None, app_version=release["app_version"] or None)
        res.update(extra)
        return res

    def ensure_absent(self):
        release = self.status()
        action = decide_absent(release["status"] if release else None)
        if action == "none":
            return self.result(False, release)
        planned = "uninstall release %s (status %s, revision %s)" % (self.p["name"], release["status"], release["revision"])
        extra = {"changes": [planned]}
        if self.diff_mode:
            extra["diff"] = [{"before_header": "manifest (helm get manifest)", "after_header": "(uninstalled)",
                              "before": manifest_documents(release["manifest"]), "after": ""}]
        if not self.check_mode:
            self.uninstall()
            after = dict(release, status="uninstalled") if self.p.get("keep_history") else None
        else:
            after = release
        res = self.result(True, after, **extra)
        if after is None:
            res.update(status="uninstalled", revision=release["revision"], chart=release["chart"],
                       chart_version=release["chart_version"], app_version=release["app_version"] or None)
        return res

    def ensure_present(self, values):
        release = self.status()
        chart = self.resolve_chart()
        status = release["status"] if release else None
        changes = compare_release(chart, values, release) if release and status != "uninstalled" else []
        action = decide_present(status, changes, upgrade=self.p.get("upgrade", True), atomic=self.p.get("atomic"))
        extra = {"chart_digest": chart["digest"]}
        if chart.get("oci_digest"):
            extra["oci_digest"] = chart["oci_digest"]

        if action == "none":
            return self.result(False, release, **extra)

        if action == "drift":
            self.warnings.append("release %s differs from the desired state but upgrade=false, so it was left "
                                 "alone: %s" % (self.p["name"], "; ".join(changes)))
            if self.diff_mode:
                extra["diff"] = self.make_diff(release, chart, values)
            return self.result(False, release, changes=changes, drift=True, **extra)

        recovered = None
        planned = []
        if action in ("install", "install-replace"):
            planned.append("install chart %s %s" % (chart["name"], chart["version"]))
        elif action == "reinstall":
            recovered = recovery_message(status, "reinstall", release["revision"])
            planned.extend(["uninstall release in status %s" % status,
                            "install chart %s %s" % (chart["name"], chart["version"])])
        elif action == "upgrade":
            if status == "failed":
                recovered = recovery_message(status, "upgrade", release["revision"])
                planned.append("upgrade failed release to chart %s %s" % (chart["name"], chart["version"]))
            planned.extend(changes)
        elif action == "rollback":
            target = pick_rollback_revision(self.history(), release["revision"])
            if target is None and status == "failed":
                # atomic, but nothing to roll back to: upgrade (helm allows upgrading a failed release)
                action = "upgrade"
                recovered = recovery_message(status, "upgrade", release["revision"])
                planned.append("upgrade failed release to chart %s %s" % (chart["name"], chart["version"]))
                planned.extend(changes)
            else:
                recovered = recovery_message(status, "rollback", release["revision"], target)
                planned.append("helm rollback to revision %s" % (target if target is not None else release["revision"]))
                planned.extend(changes)
                if target is None:
                    target = release["revision"]

        extra["changes"] = planned
        if self.diff_mode:
            extra["diff"] = self.make_diff(release if status not in ("uninstalled",) else None, chart, values)

        if self.check_mode:
            if recovered:
                recovered = "(check mode, not done) " + recovered
            return self.result(True, release, recovered=recovered, **extra)

        if action in ("install", "install-replace"):
            new = self.install(chart, values, replace=(action == "install-replace"))
        elif action == "reinstall":
            try:
                self.uninstall()
            except HelmError as exc:
                # An install that died half-way (pending-install) or an uninstall stuck on a hook: the chart's
                # delete hooks may target resources that never came to exist. Retry as `helm uninstall --no-hooks`.
                if self.p.get("no_hooks"):
                    raise
                self.uninstall(no_hooks=True)
                recovered += " (without hooks, after the uninstall with hooks failed: %s)" % exc.msg
            new = self.install(chart, values, replace=bool(self.p.get("keep_history")))
        elif action == "upgrade":
            new = self.upgrade(chart, values)
        else:  # rollback, then converge
            self.rollback(target)
            new = self.status()
            if new is None:
                raise HelmError("release %s disappeared during rollback" % self.p["name"])
            remaining = compare_release(chart, values, new)
            if remaining and (self.p.get("upgrade", True) or status == "failed"):
                new = self.upgrade(chart, values)
            elif remaining:
                self.warnings.append("release %s was recovered, but differs from the desired state and upgrade=false: %s"
                                     % (self.p["name"], "; ".join(remaining)))
                extra["drift"] = True
        return self.result(True, new, recovered=recovered, **extra)


def list_releases(runner, namespaces=None, name_filter=None, states=None, value_keys=None):
    """helm_release_info: releases in any state, newest first; with ``value_keys``, each release's user-supplied
    values at those dotted keys (one ``helm get values`` per release), as ``values``."""
    releases = []
    targets = list(namespaces) if namespaces else [None]
    for namespace in targets:
        if namespace is not None:
            err = validate_namespace(namespace)
            if err:
                raise HelmError("namespaces: " + err)
        rc, out, err = runner.run(cmd_list(namespace, name_filter, major=runner.major))
        if rc != 0:
            raise HelmError(classify_error(err, "list"))
        releases.extend(parse_list(out))
    releases = filter_and_sort_releases(releases, states=states)
    for release in releases if value_keys else ():
        rc, out, err = runner.run(cmd_get_values(release["name"], release["namespace"]))
        if rc != 0:
            raise HelmError(classify_error(err, "get values"))
        release["values"] = pick_values(parse_values(out), value_keys)
    return releases
