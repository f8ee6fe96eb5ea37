# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""The platform's chart values exactly as kaapanactl.sh's `helm install --set/--set-string` line builds them,
from a settings dict (platform_values), the namespaces and data directories after the INSTANCE_UID rewrite, the
memory split, input checks (domain, instance UID, chart reference), the CoreDNS rewrite of the domain and the
masking of secrets for the values preview. platform_plan.py fills the settings from the kaapana_* variables.

Pure functions raising PlatformError (a ValueError); the filters in plugins/filter/platform.py turn it into
AnsibleFilterError. Controller-side only (plugin_utils): nothing here runs on managed nodes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import ipaddress
import re

from ansible.module_utils.six import string_types

from ansible_collections.kaapana.platform.plugins.module_utils.k8s_names import is_dns1123_label
from ansible_collections.kaapana.platform.plugins.module_utils.chart_ref import chart_ref_scheme

# kaapanactl.sh (0.6.0) INTERNAL_CIDR: MicroK8s' service and pod networks come first (the defaults of
# kaapana_service_cidr and kaapana_pod_cidr).
SERVICE_CIDR = "10.152.183.0/24"
POD_CIDR = "10.1.0.0/16"

# Credentials of the --set line (and the names the fixture chart hashes). Masked in the preview.
SECRET_KEYS = (
    "credentials_registry_password",
    "credentials_minio_password",
    "credentials_grafana_password",
    "credentials_keycloak_admin_password",
    "kaapana_init_password",
    "oidc_client_secret",
    "smtp_password",
)
MASK = "********"
SECRET_NAME_RE = re.compile(r"(password|secret|token|passwd)", re.I)
# Words of kaapana_platform_extra_values keys that name a credential (see _extra_secret_key).
EXTRA_SECRET_WORD_RE = re.compile(r"(password|passwd|secret|token|credential|auth)")
# scheme://userinfo@ (userinfo: up to the last '@' before the host, no '/', '?', '#' or white space)
URL_USERINFO_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)([^/?#\s@]*(?:@[^/?#\s@]*)*)@")

HOST_LABEL_RE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?$")
CHART_REF_EXAMPLE = "oci://registry.example.org/kaapana/kaapana-admin-chart:0.6.0"
# `<uid>-extensions` and the objects named after it stay well below Kubernetes' 63 characters.
INSTANCE_UID_MAX = 32

# Keys of the settings dict platform_values() reads, with their defaults (the script's defaults).
# Keys without a default (None) must be given.
SETTINGS = {
    "platform_name": "kaapana-admin-chart",
    "registry_url": None,
    "registry_username": "",
    "registry_password": "",
    "chart_path": "",
    "offline_mode": False,
    "dev_mode": True,
    "gpu_support": False,
    "prefetch_extensions": False,
    "instance_uid": "",
    "services_namespace": "services",
    "admin_namespace": "admin",
    "extensions_namespace": "extensions",
    "helm_namespace": "default",
    "base_namespace": "base",
    "fast_data_dir": "/home/kaapana",
    "slow_data_dir": "/home/kaapana",
    "include_reverse_proxy": False,
    "oidc_client_secret": None,
    "home_dir": None,
    "domain": None,
    "instance_name": "",
    "http_port": "80",
    "https_port": "443",
    "dicom_port": "11112",
    "host_ip": "",
    "kubernetes_endpoint_ip": "",
    "http_proxy": "",
    "https_proxy": "",
    "deployment_timestamp": "",
    "mount_points_to_monitor": "",
    "memory_total_mb": None,
    "memory_allocatable_percent": 70,
    "pacs_percent": 30,
    "airflow_percent": 50,
    "opensearch_percent": 20,
    "minio_username": "kaapanaminio",
    "minio_password": "Kaapana2020",
    "grafana_username": "admin",
    "grafana_password": "admin",
    "keycloak_admin_username": "admin",
    "keycloak_admin_password": "Kaapana2020",
    "smtp_host": "",
    "smtp_port": "0",
    "smtp_username": "",
    "smtp_password": "",
    "email_address_sender": "",
    "storage_class_fast": "kaapana-hostpath-fast-data-dir",
    "storage_class_slow": "kaapana-hostpath-slow-data-dir",
    "storage_class_workflow": "kaapana-hostpath-fast-data-dir",
    "main_node_name": None,
    "volume_slow_data": "100Gi",
    "replica_count": "1",
    "storage_node": "storage",
    # Kaapana 0.6.1 dropped `--set-string global.replica_count` from the line (the storage chart has it).
    "set_replica_count": True,
    "service_cidr": SERVICE_CIDR,
    "pod_cidr": POD_CIDR,
}


class PlatformError(ValueError):
    """A setting the platform cannot use; the message names it."""


# Kaapana 0.6.1+ ships the storage classes as a subchart of the admin chart (disabled there); kaapanactl.sh installs
# it first as a release of its own. Whether a chart carries it is read from the chart archive, never from a version.
STORAGE_CHART = "kaapana-storage-chart"
# Kaapana's migration chart (utils/migration-chart), inside the admin chart of 0.6.0 and 0.6.1 (disabled there):
# kaapanactl.sh's run_migration_chart installs it on its own when major.minor changes.
MIGRATION_CHART = "migration-chart"
# The releases kube-helm's init-extensions Job installs (deployment_config.yaml's preinstall_extensions) when the
# chart's values do not name them: Kaapana 0.6's three.
PREINSTALL_RELEASES = ("kaapana-platform-chart", "code-server-chart", "kaapana-workflows-core")
# Helm statuses of a preinstall release: deployed is done, failed is final; anything else is still on its way.
RELEASE_DONE = "deployed"
RELEASE_FAILED = "failed"


def _bool(value, name):
    """The script's "true"/"false" strings and YAML booleans; anything else is an error naming the setting."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0", ""):
        return False
    raise PlatformError("%s must be true or false, got %r" % (name, value))


def _int(value, name, minimum=None, maximum=None):
    try:
        if isinstance(value, bool):
            raise ValueError()
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise PlatformError("%s must be an integer, got %r" % (name, value))
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise PlatformError("%s must be between %s and %s, got %s" % (name, minimum, maximum, number))
    return number


def _str(value):
    return "" if value is None else str(value)


def _settings(settings):
    if not isinstance(settings, dict):
        raise PlatformError("platform_values expects a mapping of settings, got %s" % type(settings).__name__)
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise PlatformError("platform_values: unknown setting(s) %s" % ", ".join(unknown))
    merged = dict(SETTINGS)
    merged.update(settings)
    missing = sorted(k for k, v in merged.items() if v is None)
    if missing:
        raise PlatformError("platform_values: setting(s) %s must be given" % ", ".join(missing))
    return merged


def _ip(text):
    try:
        return ipaddress.ip_address(_str(text).strip())
    except ValueError:
        return None


def platform_layout(settings):
    """Namespaces, data directories and reverse-proxy flag after kaapanactl.sh's INSTANCE_UID rewrite.

    INSTANCE_UID prefixes the services, extensions and Helm namespaces with `<uid>-`, suffixes both data
    directories with `-<uid>`, keeps the admin namespace shared and turns INCLUDE_REVERSE_PROXY on."""
    merged = dict(SETTINGS)
    merged.update(settings or {})
    uid = _str(merged.get("instance_uid")).strip()
    layout = {
        "instance_uid": uid,
        "admin_namespace": _str(merged["admin_namespace"]),
        "services_namespace": _str(merged["services_namespace"]),
        "extensions_namespace": _str(merged["extensions_namespace"]),
        "helm_namespace": _str(merged["helm_namespace"]),
        "fast_data_dir": _str(merged["fast_data_dir"]),
        "slow_data_dir": _str(merged["slow_data_dir"]),
        "include_reverse_proxy": _bool(merged["include_reverse_proxy"], "include_reverse_proxy"),
    }
    if uid:
        for key in ("services_namespace", "extensions_namespace", "helm_namespace"):
            layout[key] = "%s-%s" % (uid, layout[key])
        for key in ("fast_data_dir", "slow_data_dir"):
            layout[key] = "%s-%s" % (layout[key], uid)
        layout["include_reverse_proxy"] = True
    # The namespaces the platform's pods live in (Kaapana's project namespaces are project-*).
    layout["platform_namespaces"] = [layout["admin_namespace"], layout["services_namespace"],
                                     layout["extensions_namespace"]]
    return layout


def platform_memory(total_mb, pacs_percent=30, airflow_percent=50, opensearch_percent=20, allocatable_percent=70):
    """kaapanactl.sh's memory split in MiB (integer arithmetic as bash's $(( ))), as strings.

    allocatable = total * 70 / 100; limit = allocatable * pct / 100; request = limit / 3."""
    total = _int(total_mb, "memory_total_mb", minimum=0)
    alloc = total * _int(allocatable_percent, "memory_allocatable_percent", 0, 100) // 100
    result = {"total": str(total), "allocatable": str(alloc)}
    for name, pct in (("pacs", pacs_percent), ("airflow", airflow_percent), ("opensearch", opensearch_percent)):
        limit = alloc * _int(pct, "%s_percent" % name, 0, 100) // 100
        result["%s_memory_limit" % name] = str(limit)
        result["%s_memory_request" % name] = str(limit // 3)
    return result


def platform_internal_cidrs(host_ip="", domain="", kubernetes_endpoint_ip="", service_cidr=SERVICE_CIDR,
                            pod_cidr=POD_CIDR):
    """INTERNAL_CIDR of kaapanactl.sh as a list: service and pod networks, the host's first address,
    the domain when it is an IP, and the address of the kubernetes endpoint (empty entries skipped)."""
    cidrs = [_str(service_cidr).strip(), _str(pod_cidr).strip()]
    for value in (host_ip, domain if _ip(domain) else "", kubernetes_endpoint_ip):
        addr = _ip(value)
        if _str(value).strip() and addr is None:
            raise PlatformError("platform_internal_cidrs: %r is not an IP address" % value)
        if addr is not None:
            cidrs.append("%s/%d" % (addr, 32 if addr.version == 4 else 128))
    return cidrs


def platform_values(settings):
    """The values dict of kaapana-admin-chart, key for key and type for type as kaapanactl.sh's
    `helm install --set-string ... --set ...` line: --set-string keys are strings, the --set booleans are
    booleans, internalCidrs is a list, and oidc_client_secret (plain --set) is always passed as a string so
    that a secret of digits is never turned into a number."""
    s = _settings(settings)
    layout = platform_layout(s)
    offline = _bool(s["offline_mode"], "offline_mode")
    dev_mode = _bool(s["dev_mode"], "dev_mode")
    chart_path = _str(s["chart_path"]).strip()
    prefetch = _bool(s["prefetch_extensions"], "prefetch_extensions")
    registry_username = _str(s["registry_username"])
    registry_password = _str(s["registry_password"])
    if chart_path:
        # deploy_chart with CHART_PATH: PREFETCH_EXTENSIONS=false and the registry credentials cleared.
        prefetch = False
        registry_username = ""
        registry_password = ""
    pull_policy = "IfNotPresent" if (offline or not dev_mode) else "Always"
    domain = _str(s["domain"]).strip()
    if domain.endswith("."):
        domain = domain[:-1]
    memory = platform_memory(s["memory_total_mb"], s["pacs_percent"], s["airflow_percent"],
                             s["opensearch_percent"], s["memory_allocatable_percent"])
    http_proxy = _str(s["http_proxy"])
    https_proxy = _str(s["https_proxy"])
    if not http_proxy or not https_proxy:
        # deploy(): "if http_proxy or https_proxy is unset, both become ''"
        http_proxy = https_proxy = ""
    port = {}
    for key in ("http_port", "https_port", "dicom_port"):
        port[key] = str(_int(s[key], key, 1, 65535))
    smtp_port = str(_int(s["smtp_port"], "smtp_port", 0, 65535))

    g = {
        "base_namespace": _str(s["base_namespace"]),
        "credentials_registry_username": registry_username,
        "credentials_registry_password": registry_password,
        "credentials_minio_username": _str(s["minio_username"]),
        "credentials_minio_password": _str(s["minio_password"]),
        "credentials_grafana_username": _str(s["grafana_username"]),
        "credentials_grafana_password": _str(s["grafana_password"]),
        "credentials_keycloak_admin_username": _str(s["keycloak_admin_username"]),
        "credentials_keycloak_admin_password": _str(s["keycloak_admin_password"]),
        "dicom_port": port["dicom_port"],
        "fast_data_dir": layout["fast_data_dir"],
        "services_namespace": layout["services_namespace"],
        "extensions_namespace": layout["extensions_namespace"],
        "admin_namespace": layout["admin_namespace"],
        "gpu_support": _bool(s["gpu_support"], "gpu_support"),
        # the script passes the ADMIN namespace here, not HELM_NAMESPACE
        "helm_namespace": layout["admin_namespace"],
        "oidc_client_secret": _str(s["oidc_client_secret"]),
        "include_reverse_proxy": layout["include_reverse_proxy"],
        "home_dir": _str(s["home_dir"]),
        "hostname": domain,
        "http_port": port["http_port"],
        "https_port": port["https_port"],
        "internalCidrs": platform_internal_cidrs(s["host_ip"], domain, s["kubernetes_endpoint_ip"],
                                                 s["service_cidr"], s["pod_cidr"]),
        "offline_mode": offline,
        "prefetch_extensions": prefetch,
        "pull_policy_images": pull_policy,
        "pull_policy_jobs": pull_policy,
        "pull_policy_pods": pull_policy,
        "registry_url": _str(s["registry_url"]),
        "release_name": _str(s["platform_name"]),
        "deployment_timestamp": _str(s["deployment_timestamp"]),
        "mount_points_to_monitor": _str(s["mount_points_to_monitor"]),
        "slow_data_dir": layout["slow_data_dir"],
        "instance_uid": layout["instance_uid"],
        "instance_name": _str(s["instance_name"]).strip() or domain,
        "dev_mode": dev_mode,
        "kaapana_init_password": "kaapana" if dev_mode else "Kaapana2020!",
        "pacs_memory_limit": memory["pacs_memory_limit"],
        "airflow_memory_limit": memory["airflow_memory_limit"],
        "opensearch_memory_limit": memory["opensearch_memory_limit"],
        "pacs_memory_request": memory["pacs_memory_request"],
        "airflow_memory_request": memory["airflow_memory_request"],
        "opensearch_memory_request": memory["opensearch_memory_request"],
        "smtp_host": _str(s["smtp_host"]),
        "smtp_port": smtp_port,
        "smtp_username": _str(s["smtp_username"]),
        "smtp_password": _str(s["smtp_password"]),
        "email_address_sender": _str(s["email_address_sender"]),
        "storage_class_fast": _str(s["storage_class_fast"]),
        "storage_class_slow": _str(s["storage_class_slow"]),
        "storage_class_workflow": _str(s["storage_class_workflow"]),
        "main_node_name": _str(s["main_node_name"]),
        "volume_slow_data": _str(s["volume_slow_data"]),
        "replica_count": _str(s["replica_count"]),
        "storage_node": _str(s["storage_node"]),
    }
    if not _bool(s["set_replica_count"], "set_replica_count"):
        del g["replica_count"]
    return {
        "global": g,
        "squid-proxy": {"upstreamHttpProxy": http_proxy, "upstreamHttpsProxy": https_proxy},
    }


def platform_chart_contents(listing, values=None):
    """What a platform chart archive carries, from its member list (`tar -tzf`, a list or newline-separated text)
    and its values.yaml (a mapping; None when unread): {root (the chart's folder in the archive), storage_chart
    (the archive member of the kaapana-storage-chart subchart: a folder `<root>/charts/kaapana-storage-chart`, or
    a packaged `<root>/charts/kaapana-storage-chart-<version>.tgz`; '' when the chart has none, as 0.6.0),
    migration_chart (the same for Kaapana's migration-chart, which the upgrade runs; '' when absent),
    preinstall_releases (the names of global.preinstall_extensions; Kaapana's three when the values have no such
    list), read (false when the
    listing is None: the chart could not be read, as in a values preview without a registry)}."""
    if listing is None:
        return {"root": "", "storage_chart": "", "migration_chart": "", "preinstall_releases": list(PREINSTALL_RELEASES),
                "read": False}
    lines = listing.splitlines() if isinstance(listing, string_types) else list(listing or [])
    members = [_str(line).strip().lstrip("./") for line in lines if _str(line).strip()]
    roots = sorted(set(m.split("/", 1)[0] for m in members if "/" in m))
    chart_yaml = [m for m in members if m.count("/") == 1 and m.endswith("/Chart.yaml")]
    root = chart_yaml[0].split("/", 1)[0] if chart_yaml else (roots[0] if roots else "")
    if not root:
        raise PlatformError("the chart archive is empty or not a Helm chart (no <chart>/Chart.yaml)")

    def subchart(name):
        folder = "%s/charts/%s" % (root, name)
        if "%s/Chart.yaml" % folder in members:
            return folder
        archive_re = re.compile(r"^%s-[0-9][^/]*\.tgz$" % re.escape(folder))
        packaged = sorted(m for m in members if archive_re.match(m))
        return packaged[-1] if packaged else ""
    storage_chart = subchart(STORAGE_CHART)
    names = []
    extensions = ((values or {}).get("global") or {}).get("preinstall_extensions") if isinstance(values, dict) else None
    if isinstance(extensions, list):
        for item in extensions:
            name = _str(item.get("name") if isinstance(item, dict) else item).strip()
            if name and name not in names:
                names.append(name)
    return {"root": root, "storage_chart": storage_chart, "migration_chart": subchart(MIGRATION_CHART),
            "preinstall_releases": names if isinstance(extensions, list) else list(PREINSTALL_RELEASES),
            "read": True}


def storage_chart_values(settings):
    """The values of the kaapana-storageclass release as kaapanactl.sh 0.6.1 passes them (all --set-string):
    global.main_node_name, replica_count, fast_data_dir and slow_data_dir (after the INSTANCE_UID rewrite, as the
    admin chart gets them)."""
    merged = dict(SETTINGS)
    merged.update(settings or {})
    layout = platform_layout(merged)
    if not _str(merged.get("main_node_name")).strip():
        raise PlatformError("the storage chart needs the main node's name (global.main_node_name)")
    return {"global": {
        "main_node_name": _str(merged["main_node_name"]),
        "replica_count": _str(merged["replica_count"]),
        "fast_data_dir": layout["fast_data_dir"],
        "slow_data_dir": layout["slow_data_dir"],
    }}


def preinstall_status(releases, names, namespace="", hint=""):
    """Where the releases kube-helm preinstalls stand. releases: helm_release_info's releases ({name, status});
    names: the releases to wait for. Returns {done (all deployed), failed (a release ended failed: stop waiting),
    releases ([{name, status}] in the order of names; status 'missing' when there is none), message}."""
    by_name = {}
    for release in releases or []:
        if isinstance(release, dict) and release.get("name"):
            by_name[_str(release["name"])] = _str(release.get("status")) or "unknown"
    states = [{"name": name, "status": by_name.get(name, "missing")} for name in names or []]
    not_done = [s for s in states if s["status"] != RELEASE_DONE]
    failed = [s for s in states if s["status"] == RELEASE_FAILED]
    where = (" in namespace %s" % namespace) if namespace else ""
    if not not_done:
        message = "%d preinstalled release(s) deployed%s: %s" % (
            len(states), where, ", ".join(s["name"] for s in states))
    else:
        message = "preinstalled release(s) not deployed%s: %s" % (
            where, ", ".join("%s (%s)" % (s["name"], s["status"]) for s in not_done))
        if hint:
            message += ". " + hint
    return {"done": not not_done, "failed": bool(failed), "releases": states, "message": message}


def platform_domain_check(domain, name="kaapana_domain"):
    """Classify the platform domain: {valid, kind (fqdn|ip|single-label), domain, warnings, error}.

    A name without a dot is accepted with a warning (kaapana/kaapana#23: the domain is baked into the
    platform; a bare name makes it unreachable from other machines). IP addresses (0.0.0.0, link-local,
    zoned ones included), localhost and bad syntax are errors naming the variable and the accepted form."""
    text = _str(domain).strip()
    result = {"valid": False, "kind": None, "domain": text, "warnings": [], "error": None}
    if text.endswith("."):
        text = text[:-1]
        result["domain"] = text
    if not text:
        result["error"] = ("%s is empty: set it to the fully qualified domain name (FQDN) under which users reach "
                           "the platform, e.g. kaapana.example.org" % name)
        return result
    addr = _ip(text)
    if addr is not None or "%" in text:
        what = "an IP address"
        if addr is not None and (addr.is_unspecified or addr.is_link_local or addr.is_loopback):
            what = "the unspecified address" if addr.is_unspecified else (
                "a link-local address" if addr.is_link_local else "a loopback address")
        result["kind"] = "ip"
        result["error"] = (
            "%s '%s' is %s: set it to the fully qualified domain name (FQDN) under which users reach the platform, "
            "such as kaapana.example.org. Kaapana bakes the domain into the platform (global.hostname, Keycloak's "
            "redirect URLs, the CoreDNS rewrite, internalCidrs); valid TLS certificates need an FQDN and a changed "
            "address makes the platform unreachable (kaapana/kaapana#23)." % (name, text, what))
        return result
    if text.lower() == "localhost" or text.lower().endswith(".localhost") or text.lower() == "localhost.localdomain":
        result["error"] = ("%s '%s' names this machine only (localhost): set it to the fully qualified domain name "
                           "(FQDN) under which users reach the platform, such as kaapana.example.org" % (name, text))
        return result
    if len(text) > 253:
        result["error"] = "%s '%s' is longer than 253 characters" % (name, text)
        return result
    labels = text.split(".")
    bad = [label for label in labels if not (HOST_LABEL_RE.match(label) and len(label) <= 63)]
    if bad or (len(labels) > 1 and labels[-1].isdigit()):
        result["error"] = (
            "%s '%s' is not a valid domain name: each dot-separated label must be 1-63 letters, digits or '-', "
            "not starting or ending with '-'%s (no scheme, port, path, '_' or '*')"
            % (name, text, " (bad label(s): %s)" % ", ".join("'%s'" % b for b in bad) if bad else ""))
        return result
    if text != text.lower():
        result["error"] = ("%s '%s' must be lower case (Kubernetes Ingress hosts and Keycloak redirect URLs are "
                           "compared lower case); use '%s'" % (name, text, text.lower()))
        return result
    if len(labels) == 1:
        result.update(valid=True, kind="single-label")
        result["warnings"].append(
            "%s '%s' has no dot. Browsers and other machines usually cannot resolve a bare host name "
            "(DNS_PROBE_FINISHED_NXDOMAIN, kaapana/kaapana#23), and the name is baked into the platform: changing "
            "it later needs an undeploy and a new deploy. Use the server's fully qualified domain name."
            % (name, text))
        return result
    result.update(valid=True, kind="fqdn")
    return result


def platform_instance_uid_check(uid, name="kaapana_instance_uid"):
    """None when the instance UID is usable (empty or a short DNS label), else the error message."""
    text = _str(uid)
    if text == "":
        return None
    if not is_dns1123_label(text, max_length=INSTANCE_UID_MAX):
        return ("%s %r must be empty or a short DNS label: at most %d lower-case letters, digits and '-', "
                "starting and ending with a letter or digit (it prefixes the namespaces <uid>-services, "
                "<uid>-extensions, <uid>-default and suffixes the data directories)" % (name, text, INSTANCE_UID_MAX))
    return None


def _mask_url_userinfo(text, mask=MASK):
    """Every `scheme://user:password@host` in a string as `scheme://user:<mask>@host`, and a userinfo without
    a password (`scheme://token@host`, a token used as user name) as `scheme://<mask>@host`."""
    def repl(match):
        user, sep, _password = match.group(2).partition(":")
        return "%s%s@" % (match.group(1), (user + ":" + mask) if sep else mask)
    return URL_USERINFO_RE.sub(repl, text)


def _extra_secret_key(key):
    """True for a key of kaapana_platform_extra_values that names a credential: one of its words (split at '_',
    '-', '.', and lower/upper case changes) contains password, passwd, secret, token, credential or auth, or
    ends in key (apiKey, access_key, sshkey; not keycloak)."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(key))
    words = [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]
    return any(EXTRA_SECRET_WORD_RE.search(w) or w.endswith(("key", "keys")) for w in words)


def platform_mask_secrets(values, mask=MASK, extra=None):
    """A deep copy of a values dict with every credential replaced by a mask (empty ones stay empty): the keys of
    the --set line's credentials and any key naming a password, secret or token; every URL's userinfo in any
    string (http://user:pass@proxy -> http://user:<mask>@proxy); and, where `extra` (kaapana_platform_extra_values)
    provided the value, the whole value under any key naming a password, secret, token, key, credential or auth."""
    def scrub(node):
        if isinstance(node, dict):
            return dict((k, scrub(v)) for k, v in node.items())
        if isinstance(node, list):
            return [scrub(v) for v in node]
        if isinstance(node, bool) or node in ("", None):
            return node
        return mask

    def walk(node, key=None, from_extra=None):
        if key is not None and from_extra is not None and _extra_secret_key(key):
            return scrub(node)
        if isinstance(node, dict):
            def extra_of(k):
                if isinstance(from_extra, dict) and k in from_extra:
                    return from_extra.get(k)
                return from_extra if from_extra is True else None
            return dict((k, walk(v, k, extra_of(k))) for k, v in node.items())
        if isinstance(node, list):
            return [walk(v, key, True if from_extra is not None else None) for v in node]
        if key is not None and (key in SECRET_KEYS or SECRET_NAME_RE.search(str(key))):
            return node if node in ("", None) else mask
        if isinstance(node, string_types):
            return _mask_url_userinfo(node, mask)
        return node
    extra = extra if isinstance(extra, dict) else {}
    return walk(copy.deepcopy(values), None, _extra_marks(extra))


def _extra_marks(extra):
    """kaapana_platform_extra_values as a tree of dicts whose leaves are True: where the merged values came from
    the extra values (lists and scalars replace what the computed values had)."""
    if isinstance(extra, dict):
        return dict((k, _extra_marks(v)) for k, v in extra.items())
    return True


def platform_coredns_rewrite(corefile, domain, admin_namespace="admin"):
    """The Corefile with `rewrite name exact <domain>. oauth2-proxy-service.<admin>.svc.cluster.local.` just
    before the `kubernetes` line (as kaapanactl.sh's update_coredns_rewrite), earlier rewrites to that service
    removed. Idempotent; an IP address (or empty domain) leaves the Corefile unchanged."""
    text = _str(corefile)
    name = _str(domain).strip().rstrip(".")
    if not name or _ip(name) is not None:
        return text
    target = "oauth2-proxy-service.%s.svc.cluster.local." % admin_namespace
    old = re.compile(r"^[ \t]*rewrite[ \t]+name[ \t]+exact[ \t]+\S+[ \t]+%s[ \t]*$" % re.escape(target))
    lines = [line for line in text.split("\n") if not old.match(line)]
    kube = re.compile(r"^(?P<indent>[ \t]*)kubernetes(\s|$)")
    for index, line in enumerate(lines):
        match = kube.match(line)
        if match:
            lines.insert(index, "%srewrite name exact %s. %s" % (match.group("indent"), name, target))
            return "\n".join(lines)
    raise PlatformError("the CoreDNS Corefile has no 'kubernetes' line to put the rewrite of %s before" % name)


def platform_chart_reference(ref):
    """kaapanactl.sh's parse_chart_reference: `[oci://]<registry>/<path>/<chart>:<version>` ->
    {registry_url, name, version, chart_ref (oci://...)}."""
    text = _str(ref).strip()
    scheme = chart_ref_scheme(text)
    if scheme and scheme != "oci":
        raise PlatformError("kaapana_chart_ref %r: the scheme %s:// is not supported; use "
                            "[oci://]<registry>/<path>/<chart>:<version>, such as %s"
                            % (text, scheme, CHART_REF_EXAMPLE))
    bare = text[len("oci://"):] if text.startswith("oci://") else text
    form = "use [oci://]<registry>/<path>/<chart>:<version>, such as %s" % CHART_REF_EXAMPLE
    if not bare or ":" not in bare:
        raise PlatformError("kaapana_chart_ref must be in the form <registry>/<path>/<chart>:<version>, got %r; %s"
                            % (text, form))
    registry_and_chart, version = bare.rsplit(":", 1)
    if not version or "/" in version:
        raise PlatformError("kaapana_chart_ref %r is missing the version after the last ':'; %s" % (text, form))
    if "/" not in registry_and_chart:
        raise PlatformError("kaapana_chart_ref %r must include a chart name (last segment after '/'); %s"
                            % (text, form))
    registry_url, name = registry_and_chart.rsplit("/", 1)
    if not name or not registry_url:
        raise PlatformError("kaapana_chart_ref %r: unable to determine the registry URL and chart name; %s"
                            % (text, form))
    return {"registry_url": registry_url, "name": name, "version": version,
            "chart_ref": "oci://%s/%s" % (registry_url, name)}


def platform_image_count(ctr_images_ls, version):
    """Lines of `microk8s ctr images ls` that mention the platform version (kaapanactl.sh:
    `microk8s.ctr images ls | grep $PLATFORM_VERSION | wc -l`; fixed string instead of a regex)."""
    needle = _str(version)
    if not needle:
        return 0
    text = ctr_images_ls if isinstance(ctr_images_ls, string_types) else "\n".join(ctr_images_ls or [])
    return sum(1 for line in text.splitlines() if needle in line)
