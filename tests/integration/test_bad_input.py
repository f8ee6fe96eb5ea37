"""Bad input to site.yml (the entry point admins run) is rejected before any change: every case runs site.yml
against two lab nodes (badin-a main, badin-b worker) with an otherwise valid inventory plus one bad setting, and
must fail with a message that names the variable and the accepted form, while neither node (witness files, the
package list, `snap list`) nor the cluster (Node objects, Helm release secrets, namespaces) changes.

The runs happen in the module fixture, WORKERS at a time; after each run both nodes and the cluster are compared
with their state before the first case (nothing may change at all, so a change shows up at the latest in the case
that made it). Each test then checks its case and records (case, the first message line naming the variable, no
change verified) as the user property `bad_input`; tests/integration/conftest.py prints the table at the end of the
run and writes tests/output/bad_input.md."""
import concurrent.futures
import hashlib
import json
import os
import re
import subprocess
import time

import pytest

from tests.integration.nodes import lab_platform_vars, node_containers, node_exec, run_playbook, write_inventory

pytestmark = pytest.mark.lab

MAIN, WORKER = "badin-a", "badin-b"
NODES = [MAIN, WORKER]
# Namespaces of this inventory's platform, Longhorn and GPU operator: no other lab test uses them, so "no Helm
# release secret in them" holds whatever else runs on the shared lab.
NS_PREFIX = "badin-"
WITNESS_FILES = ["/etc/environment", "/etc/sysctl.d/90-kaapana.conf", "/var/lib/snapd/state.kaapana-lab-standin.json",
                 "/snap/bin/microk8s", "/snap/bin/helm", "/var/snap/microk8s/current/args/kube-apiserver",
                 "/etc/multipath.conf", "/etc/iscsi/initiatorname.iscsi"]
WITNESS_DIRS = ["/etc/sysctl.d", "/var/tmp", "/var/snap", "/etc/apt/sources.list.d"]
PLAYBOOK_TIMEOUT = 300
# site.yml runs at a time: one run keeps about one core busy; two use this 2-core machine's both.
WORKERS = int(os.environ.get("KAAPANA_BAD_INPUT_WORKERS", "2"))

LONGHORN = {"kaapana_storage_provider": "longhorn"}
CONTROL = "test_the_inventory_without_a_bad_setting_passes_preflight"


def _group_vars(lab):
    """test_site.py's working settings (lab registry, credentials, domain), with namespaces of our own."""
    return lab_platform_vars(
        lab,
        kaapana_domain="kaapana.badin.lab.internal",
        kaapana_keycloak_admin_password="Badin-Keycloak-1!",
        kaapana_helm_namespace=NS_PREFIX + "helm",
        kaapana_admin_namespace=NS_PREFIX + "admin",
        kaapana_services_namespace=NS_PREFIX + "services",
        kaapana_extensions_namespace=NS_PREFIX + "extensions",
        kaapana_longhorn_namespace=NS_PREFIX + "longhorn-system",
        kaapana_gpu_operator_namespace=NS_PREFIX + "gpu-operator",
        kaapana_platform_wait_timeout=60,
    )


def case(case_id, bad, words, main=(MAIN,), workers=(WORKER,), host_vars=None, playbook="site.yml", extra_vars=None,
         absent=()):
    """One bad-input case: the bad group variables, the words the message must contain (the first is the variable
    name), the inventory's main and worker hosts, per-host variables, the playbook to run (site.yml, or for example
    playbooks/undeploy.yml or playbooks/uninstall.yml), its -e variables and strings (secrets) that must not appear
    in the output."""
    return pytest.param({"bad": bad, "words": words, "main": list(main), "workers": list(workers),
                         "host_vars": host_vars or {}, "playbook": playbook, "extra_vars": extra_vars or {},
                         "absent": list(absent)}, id=case_id)


# Production mode with passwords that pass every check, so that a case names only its one bad password.
PRODUCTION = {"kaapana_dev_mode": False, "kaapana_credentials_minio_password": "Badin-Minio-1!",
              "kaapana_grafana_password": "Badin-Grafana-1!"}


CASES = [
    # --- domain
    case("domain-with-space", {"kaapana_domain": "kaapana example.org"},
         ["kaapana_domain", "not a valid domain name", "letters, digits or '-'"]),
    case("domain-empty", {"kaapana_domain": ""}, ["kaapana_domain", "is empty", "such as kaapana.example.org"]),
    case("domain-with-scheme", {"kaapana_domain": "https://kaapana.example.org"},
         ["kaapana_domain", "no scheme, port, path"]),
    case("domain-upper-case", {"kaapana_domain": "Kaapana.Example.org"},
         ["kaapana_domain", "lower case", "kaapana.example.org"]),
    # --- ports
    case("https-port-0", {"kaapana_https_port": 0}, ["kaapana_https_port", "port number from 1 to 65535"]),
    case("dicom-port-70000", {"kaapana_dicom_port": 70000}, ["kaapana_dicom_port", "port number from 1 to 65535"]),
    # the argument spec's type check (int) rejects it first
    case("http-port-text", {"kaapana_http_port": "eighty"},
         ["kaapana_http_port", "'eighty'", "cannot be converted to an int"]),
    case("ports-equal", {"kaapana_https_port": 80},
         ["kaapana_https_port", "both port 80", "80, 443 and 11112"]),
    case("smtp-port-70000", {"kaapana_smtp_port": 70000}, ["kaapana_smtp_port", "from 0 (no e-mail) to 65535"]),
    # --- CIDRs, proxy lists, addresses
    case("no-proxy-extra-cidr-33", {"kaapana_no_proxy_extra": ["10.0.0.0/33"]},
         ["kaapana_no_proxy_extra", "10.0.0.0/33", "such as 10.1.0.0/16"]),
    case("pod-cidr-33", {"kaapana_pod_cidr": "10.1.0.0/33"}, ["kaapana_pod_cidr", "such as 10.1.0.0/16"]),
    case("service-cidr-host-bits", {"kaapana_service_cidr": "10.152.183.1/24"},
         ["kaapana_service_cidr", "host bits are set", "10.152.183.0/24"]),
    case("no-proxy-garbage", {"kaapana_no_proxy": ["registry.example.org", "bad_host!"]},
         ["kaapana_no_proxy", "bad_host!", "host name, domain (.example.org, *.example.org), IP address or CIDR"]),
    case("http-proxy-without-scheme", {"kaapana_http_proxy": "proxy.example.org:3128"},
         ["kaapana_http_proxy", "such as http://proxy.example.org:3128"]),
    case("dns-server-name", {"kaapana_microk8s_dns_servers": ["dns.example.org"]},
         ["kaapana_microk8s_dns_servers", "not an IP address such as 192.168.1.10"]),
    case("node-ip-300", {}, ["kaapana_node_ip", "not an IP address such as 192.168.1.10"],
         host_vars={WORKER: {"kaapana_node_ip": "10.89.0.300"}}),
    # --- storage provider and classes
    case("storage-provider-nfs", {"kaapana_storage_provider": "nfs"},
         ["kaapana_storage_provider", "hostpath, microk8s, microk8s.io/hostpath, longhorn, driver.longhorn.io"]),
    case("storage-class-not-dns-1123", {"kaapana_storage_class_slow": "Slow_Data"},
         ["kaapana_storage_class_slow", "StorageClass name", "lower-case letters, digits"]),
    case("longhorn-storage-class-space", dict(LONGHORN, kaapana_storage_class_fast="fast data"),
         ["kaapana_storage_class_fast", "StorageClass name", "lower-case letters, digits"]),
    # --- quantities
    case("volume-100GB", {"kaapana_volume_slow_data": "100GB"},
         ["kaapana_volume_slow_data", "Kubernetes quantity", "100Gi", "Did you mean 100G?"]),
    case("volume-negative", {"kaapana_volume_slow_data": "-5Gi"},
         ["kaapana_volume_slow_data", "positive Kubernetes quantity", "100Gi"]),
    case("longhorn-volume-millibytes", dict(LONGHORN, kaapana_volume_slow_data="500m"),
         ["kaapana_volume_slow_data", "use M (megabytes) or Mi"]),
    # --- MicroK8s channel and addons
    case("channel-without-risk", {"kaapana_microk8s_channel": "1.33"}, ["kaapana_microk8s_channel", "1.33/stable"]),
    case("channel-bad-risk", {"kaapana_microk8s_channel": "1.33/unstable"},
         ["kaapana_microk8s_channel", "<track>/<risk>", "1.33/stable"]),
    case("unknown-addon", {"kaapana_microk8s_addons": [{"name": "dns"}, {"name": "dnss"}]},
         ["kaapana_microk8s_addons", "dnss", "Known: "]),
    # --- chart reference and version
    case("platform-version-latest", {"kaapana_platform_version": "latest"},
         ["kaapana_platform_version", "SemVer, such as 0.6.0"]),
    case("platform-version-two-parts", {"kaapana_platform_version": "0.6"},
         ["kaapana_platform_version", "SemVer, such as 0.6.0"]),
    case("chart-ref-https-scheme", {"kaapana_chart_ref": "https://10.89.0.1:5000/charts/kaapana-admin-chart:0.6.0-lab"},
         ["kaapana_chart_ref", "scheme https:// is not supported", "[oci://]<registry>/<path>/<chart>:<version>"]),
    case("chart-ref-without-version", {"kaapana_chart_ref": "oci://10.89.0.1:5000/charts/kaapana-admin-chart"},
         ["kaapana_chart_ref", "missing the version", "[oci://]<registry>/<path>/<chart>:<version>"]),
    case("registry-url-with-scheme", {"kaapana_registry_url": "https://10.89.0.1:5000/charts"},
         ["kaapana_registry_url", "host[:port]/path without a scheme"]),
    case("longhorn-chart-ref-ftp", dict(LONGHORN, kaapana_longhorn_chart_ref="ftp://charts.example.org/longhorn"),
         ["kaapana_longhorn_chart_ref", "oci://host[:port]/path/chart", "repo/chart"]),
    case("longhorn-version-two-parts", dict(LONGHORN, kaapana_longhorn_version="1.10"),
         ["kaapana_longhorn_version", "such as 1.10.1"]),
    # --- offline mode
    case("offline-without-chart-path", {"kaapana_offline_mode": True},
         ["kaapana_offline_mode", "kaapana_chart_path", "kaapana-admin-chart-<version>.tgz"]),
    case("offline-snap-without-assert", {"kaapana_microk8s_offline_snap": "/tmp/microk8s_8147.snap"},
         ["kaapana_microk8s_offline_assert", "Set both kaapana_microk8s_offline_snap"]),
    # --- instance UID
    case("instance-uid-underscore", {"kaapana_instance_uid": "A_B"},
         ["kaapana_instance_uid", "short DNS label", "at most 32 lower-case letters, digits and '-'"]),
    case("instance-uid-too-long", {"kaapana_instance_uid": "a" * 33},
         ["kaapana_instance_uid", "short DNS label", "at most 32 lower-case letters, digits and '-'"]),
    # --- inventory
    case("no-main-host", {}, ["kaapana_main", "exactly one host", "contains 0"], main=(), workers=NODES),
    case("two-main-hosts", {}, ["kaapana_main", "exactly one host", "contains 2"], main=NODES, workers=()),
    case("node-role-manager", {}, ["kaapana_node_role", "worker, control-plane", "manager"],
         host_vars={WORKER: {"kaapana_node_role": "manager"}}),
    # --- GPU
    case("gpu-support-maybe", {"kaapana_gpu_support": "maybe"}, ["kaapana_gpu_support", "auto, true, false"]),
    case("gpu-driver-unknown", {"kaapana_gpu_operator_driver": "nouveau"},
         ["kaapana_gpu_operator_driver", "host, operator, auto"]),
    # --- credentials
    case("registry-password-missing", {"kaapana_registry_password": ""},
         ["kaapana_registry_password", "must be set"]),
    case("registry-username-missing", {"kaapana_registry_username": ""},
         ["kaapana_registry_username", "must be set"]),
    case("keycloak-password-missing", {"kaapana_keycloak_admin_password": ""},
         ["kaapana_keycloak_admin_password", "is empty"]),
    case("minio-password-short", {"kaapana_credentials_minio_password": "short"},
         ["kaapana_credentials_minio_password", "at least 8 characters"]),
    # --- issue 14, item 6: every role's full argument spec (platform and no_proxy have a validate entry point)
    case("plain-http-maybe", {"kaapana_plain_http": "maybe"},
         ["kaapana_plain_http", "'maybe'", "not a valid boolean"]),
    case("wait-timeout-forever", {"kaapana_platform_wait_timeout": "forever"},
         ["kaapana_platform_wait_timeout", "forever", "int"]),
    case("wait-progress-interval-0", {"kaapana_platform_wait_progress_interval": 0},
         ["kaapana_platform_wait_progress_interval", "a positive number of seconds", "got 0"]),
    case("extra-values-string", {"kaapana_platform_extra_values": "global.hostname=evil.example.org"},
         ["kaapana_platform_extra_values", "must be a mapping of chart values", "got a str"]),
    case("host-ip-300", {"kaapana_host_ip": "10.89.0.300"},
         ["kaapana_host_ip", "'10.89.0.300' is not an IP address", "such as 192.168.1.10"]),
    case("host-ip-zoned", {"kaapana_host_ip": "fe80::1%eth0"},
         ["kaapana_host_ip", "'fe80::1%eth0'", "no zone such as %eth0"]),
    case("no-proxy-reboot-timeout-text", {"kaapana_proxy_reboot_timeout": "15 minutes"},
         ["kaapana_proxy_reboot_timeout", "15 minutes", "int"]),
    # --- item 7: namespaces
    case("services-namespace-kube-system", {"kaapana_services_namespace": "kube-system"},
         ["kaapana_services_namespace", "'kube-system' is a Kubernetes system namespace"]),
    case("admin-namespace-default", {"kaapana_admin_namespace": "default"},
         ["kaapana_admin_namespace", "'default' is the cluster's shared default namespace", "such as admin"]),
    case("extensions-namespace-longhorn-system", {"kaapana_extensions_namespace": "longhorn-system"},
         ["kaapana_extensions_namespace", "'longhorn-system' belongs to Longhorn", "such as extensions"]),
    case("helm-namespace-gpu-operator", {"kaapana_helm_namespace": "gpu-operator-resources"},
         ["kaapana_helm_namespace", "'gpu-operator-resources' belongs to the GPU operator"]),
    case("namespaces-collide", {"kaapana_extensions_namespace": NS_PREFIX + "services"},
         ["kaapana_services_namespace and kaapana_extensions_namespace", "both name the namespace 'badin-services'"]),
    case("longhorn-namespace-is-admin", dict(LONGHORN, kaapana_longhorn_namespace=NS_PREFIX + "admin"),
         ["kaapana_admin_namespace and kaapana_longhorn_namespace", "both name the namespace 'badin-admin'"]),
    case("gpu-namespace-kube-system", {"kaapana_gpu_operator_namespace": "kube-system"},
         ["kaapana_gpu_operator_namespace", "not kube-system", "such as gpu-operator-resources"]),
    # --- ports after normalisation
    case("ports-collide-0443", {"kaapana_https_port": "0443", "kaapana_dicom_port": 443},
         ["kaapana_https_port and kaapana_dicom_port are both port 443", "'0443'"]),
    # --- a trailing newline in a regex-checked value
    case("platform-name-newline", {"kaapana_platform_name": "kaapana-admin-chart\n"},
         ["kaapana_platform_name", "Helm release name"]),
    case("gpu-operator-version-newline", {"kaapana_gpu_operator_version": "v25.10.0\n"},
         ["kaapana_gpu_operator_version", "such as v25.10.0"]),
    case("channel-newline", {"kaapana_microk8s_channel": "1.33/stable\n"}, ["kaapana_microk8s_channel", "1.33/stable"]),
    case("longhorn-version-newline", dict(LONGHORN, kaapana_longhorn_version="1.10.1\n"),
         ["kaapana_longhorn_version", "such as 1.10.1"]),
    case("http-proxy-newline", {"kaapana_http_proxy": "http://proxy.example.org:3128\n"},
         ["kaapana_http_proxy", "no white space or trailing newline"]),
    case("instance-uid-newline", {"kaapana_instance_uid": "site\n"}, ["kaapana_instance_uid", "short DNS label"]),
    # --- the hosts against Kaapana's needs (each check's logic: tests/unit/plugins/plugin_utils/test_host_checks.py)
    case("preflight-snap-space", {"kaapana_preflight_snap_min_free_gib": 100000},
         ["kaapana_preflight_snap_min_free_gib", "/var/snap on badin-a", "at least 100000.0 GiB"]),
    case("preflight-cores", {"kaapana_preflight_cores_fail": 4096},
         ["kaapana_preflight_cores_fail", "badin-a has", "far below Kaapana's minimum of 8"]),
    case("preflight-inotify-from-kaapana-sysctl",
         {"kaapana_preflight_inotify_min": 10000, "kaapana_sysctl_apply": True,
          "kaapana_sysctl": {"fs.inotify.max_user_instances": 8192, "fs.inotify.max_user_watches": 524288}},
         ["kaapana_preflight_inotify_min", "fs.inotify.max_user_instances on badin-a is 8192 (kaapana_sysctl)"]),
    case("preflight-domain-resolves", {"kaapana_preflight_domain_resolves": True},
         ["kaapana_domain kaapana.badin.lab.internal does not resolve on badin-a", "kaapana_preflight_domain_resolves"]),
    # --- the domain
    case("domain-ip", {"kaapana_domain": "10.89.0.10"},
         ["kaapana_domain", "'10.89.0.10' is an IP address", "such as kaapana.example.org"]),
    case("domain-0.0.0.0", {"kaapana_domain": "0.0.0.0"}, ["kaapana_domain", "is the unspecified address"]),
    case("domain-localhost", {"kaapana_domain": "localhost"}, ["kaapana_domain", "(localhost)", "FQDN"]),
    case("domain-link-local-zoned", {"kaapana_domain": "fe80::1%eth0"},
         ["kaapana_domain", "'fe80::1%eth0' is a link-local address"]),
    # --- NO_PROXY entries that switch the proxy off
    case("no-proxy-star", {"kaapana_no_proxy": ["registry.example.org", "*"]},
         ["kaapana_no_proxy", "\"*\" exempts every host", "kaapana_no_proxy_allow_all"]),
    case("no-proxy-extra-0.0.0.0-0", {"kaapana_no_proxy_extra": ["0.0.0.0/0"]},
         ["kaapana_no_proxy_extra", "\"0.0.0.0/0\" exempts every host", "kaapana_no_proxy_allow_all"]),
    case("no-proxy-ipv6-all", {"kaapana_no_proxy": ["::/0"]}, ["kaapana_no_proxy", "\"::/0\" exempts every host"]),
    # --- quantities and storage classes
    case("volume-512Ki", {"kaapana_volume_slow_data": "512Ki"}, ["kaapana_volume_slow_data", "less than 1Mi", "100Gi"]),
    case("storage-class-missing", {"kaapana_storage_class_slow": "nfs-slow"},
         ["kaapana_storage_class_slow", "'nfs-slow' does not exist", "there is no cluster yet"]),
    # --- production passwords (kaapana_dev_mode false)
    case("production-keycloak-default-password", dict(PRODUCTION, kaapana_keycloak_admin_password="Kaapana2020!"),
         ["kaapana_keycloak_admin_password", "well-known default password", "upper-case letter"],
         absent=["Kaapana2020!"]),
    case("production-keycloak-policy", dict(PRODUCTION, kaapana_keycloak_admin_password="badinkeycloak"),
         ["kaapana_keycloak_admin_password", "Keycloak's production password policy", "a digit, a special character"],
         absent=["badinkeycloak"]),
    case("production-grafana-admin", dict(PRODUCTION, kaapana_grafana_password="admin"),
         ["kaapana_grafana_password", "well-known default password"]),
    # --- data directories a confirmed purge would delete (issue 14 item 2): refused at deploy already
    case("data-dir-dotdot", {"kaapana_fast_data_dir": "/home/kaapana/.."},
         ["kaapana_fast_data_dir", "must be written normalised, as /home"]),
    case("data-dir-var-lib", {"kaapana_slow_data_dir": "/var/lib"}, ["kaapana_slow_data_dir", "is a system directory"]),
    case("data-dir-usr-local", {"kaapana_fast_data_dir": "/usr/local"}, ["kaapana_fast_data_dir", "inside /usr"]),
    case("data-dir-microk8s", {"kaapana_slow_data_dir": "/var/snap/microk8s/common/kaapana"},
         ["kaapana_slow_data_dir", "inside /var/snap/microk8s"]),
    case("data-dir-newline", {"kaapana_fast_data_dir": "/home/kaapana\n"}, ["kaapana_fast_data_dir", "newlines"]),
    # --- purge confirmation (items 3 and 5): undeploy.yml and uninstall.yml refuse before anything is uninstalled
    case("purge-empty-instance-name", {"kaapana_domain": "."}, ["kaapana_purge_data", "the instance name is empty"],
         playbook="playbooks/undeploy.yml", extra_vars={"kaapana_purge_data": True, "kaapana_purge_confirm": ""}),
    case("purge-wrong-confirmation", {}, ["kaapana_purge_confirm", "not the instance name 'kaapana.badin.lab.internal'"],
         playbook="playbooks/undeploy.yml",
         extra_vars={"kaapana_purge_data": True, "kaapana_purge_confirm": "kaapana.badin.lab.internal.old"}),
    case("purge-in-inventory-undeploy", {"kaapana_purge_data": True, "kaapana_purge_confirm": "kaapana.badin.lab.internal"},
         ["kaapana_purge_data", "are set in the inventory", "-e"], playbook="playbooks/undeploy.yml"),
    case("purge-in-inventory-uninstall", {"kaapana_purge_data": True, "kaapana_purge_confirm": "kaapana.badin.lab.internal"},
         ["kaapana_purge_data", "are set in the inventory", "-e"], playbook="playbooks/uninstall.yml"),
]

CASE_IDS = [c.id for c in CASES]


def _witness(lab, node):
    """One `podman exec` per node: sha256 of the witness files and folder listings, the package list, snap list."""
    script = ("for f in %s; do if [ -e \"$f\" ]; then printf '%%s ' \"$f\"; sha256sum < \"$f\"; "
              "else echo \"$f missing\"; fi; done; ls -A %s 2>&1; "
              "dpkg-query -W 2>&1 | sha256sum; echo '--- snap list'; snap list 2>&1"
              % (" ".join(WITNESS_FILES), " ".join(WITNESS_DIRS)))
    res = node_exec(lab, node, "sh", "-c", script, check=False)
    snap_list = res.stdout.split("--- snap list", 1)[-1]
    return {"digest": hashlib.sha256(res.stdout.encode()).hexdigest(), "snap_list": snap_list,
            "ok": res.returncode == 0}


def _cluster(lab, attempts=10):
    """What a deploy would leave in the cluster: Node objects of our nodes, Helm release secrets and namespaces
    of this inventory (badin-*). Retried while the API server does not answer (other lab tests restart it)."""
    for attempt in range(attempts):
        nodes = lab.kubectl_run("get", "nodes", "-o", "name", check=False)
        namespaces = lab.kubectl_run("get", "namespaces", "-o", "name", check=False)
        secrets = lab.kubectl_run("get", "secrets", "-A", "-l", "owner=helm", "-o", "json", check=False)
        if all(r.returncode == 0 for r in (nodes, namespaces, secrets)):
            break
        time.sleep(3)
    else:
        return {"ok": False, "error": (nodes.stderr + namespaces.stderr + secrets.stderr)[-500:]}
    ours = ["%s/%s" % (s["metadata"]["namespace"], s["metadata"]["name"]) for s in json.loads(secrets.stdout)["items"]
            if s["metadata"]["namespace"].startswith(NS_PREFIX)]
    return {"ok": True,
            "nodes": sorted(n for n in nodes.stdout.split() if n.split("/")[-1] in NODES),
            "helm_secrets": sorted(ours),
            "namespaces": sorted(n for n in namespaces.stdout.split() if n.split("/")[-1].startswith(NS_PREFIX))}


def _message_line(output, variable):
    """The first line of the failure that names the variable, without Ansible's 'Task failed: ...' prefixes."""
    start = next((i for i, line in enumerate(output.splitlines())
                  if line.startswith("[ERROR]") or line.startswith("fatal:")), None)
    if start is None:
        return ""
    for line in output.splitlines()[start:]:
        if variable in line:
            line = re.sub(r"^\[ERROR\]:\s*", "", line.strip())
            line = re.sub(r"^Task failed: (Action failed: )?", "", line)
            line = re.sub(r"^Finalization of task args for '[^']*' failed: ", "", line)
            line = re.sub(r"^Error while resolving value for '[^']*': ", "", line)
            line = re.sub(r"^The filter plugin '[^']*' failed: ", "", line)
            return line
    return ""


def _state(lab):
    """Both nodes' witnesses and the cluster, read concurrently."""
    with concurrent.futures.ThreadPoolExecutor(len(NODES) + 1) as pool:
        nodes = {n: pool.submit(_witness, lab, n) for n in NODES}
        cluster = pool.submit(_cluster, lab)
        return {n: f.result() for n, f in nodes.items()}, cluster.result()


def _run_case(lab, workdir, case_id, spec, baseline):
    """site.yml with the case's inventory, then the nodes and the cluster compared with the state before the first
    case (nothing may change at all, so any change shows up at the latest in the case that made it)."""
    inv = write_inventory(workdir / ("%s.yml" % case_id), spec["main"], spec["workers"],
                          group_vars=dict(_group_vars(lab), **spec["bad"]), host_vars=spec["host_vars"])
    try:
        res = run_playbook(lab, spec["playbook"], inv, extra_vars=spec["extra_vars"], timeout=PLAYBOOK_TIMEOUT)
        returncode, output = res.returncode, res.stdout + res.stderr
    except subprocess.TimeoutExpired as exc:
        returncode, output = None, "site.yml ran past %d s: %s" % (PLAYBOOK_TIMEOUT, exc)
    after, cluster = _state(lab)
    return {"returncode": returncode, "output": output, "after": after, "cluster": cluster,
            "hosts_unchanged": all(after[n]["ok"] and after[n]["digest"] == baseline[n]["digest"] for n in NODES),
            "no_microk8s": all("microk8s" not in after[n]["snap_list"] for n in NODES),
            "cluster_unchanged": cluster["ok"] and not (cluster["nodes"] or cluster["helm_secrets"]
                                                        or cluster["namespaces"])}


def _run_control(lab, workdir, baseline):
    """The inventory without a bad setting passes the checks (playbooks/preflight.yml only: site.yml would deploy),
    so each case fails because of its one bad setting."""
    inv = write_inventory(workdir / "valid.yml", [MAIN], [WORKER], group_vars=_group_vars(lab))
    res = run_playbook(lab, "playbooks/preflight.yml", inv, timeout=PLAYBOOK_TIMEOUT)
    after, cluster = _state(lab)
    return {"returncode": res.returncode, "output": res.stdout + res.stderr,
            "hosts_unchanged": all(after[n]["digest"] == baseline[n]["digest"] for n in NODES),
            "cluster_unchanged": cluster["ok"] and not (cluster["nodes"] or cluster["helm_secrets"]
                                                        or cluster["namespaces"])}


@pytest.fixture(scope="module")
def outcomes(lab, request, tmp_path_factory):
    """Starts badin-a and badin-b once and runs site.yml for every selected case, WORKERS at a time (each run is
    bound by one CPU core: Ansible's controller and the podman connection), before the tests check the results."""
    selected = [item.callspec.params["spec"] for item in request.session.items
                if item.module is request.module and hasattr(item, "callspec")]
    ids = [item.callspec.id for item in request.session.items
           if item.module is request.module and hasattr(item, "callspec")]
    workdir = tmp_path_factory.mktemp("bad_input")
    with node_containers(lab, NODES):
        baseline, cluster = _state(lab)
        assert all(baseline[n]["ok"] for n in NODES) and cluster["ok"], (baseline, cluster)
        with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
            futures = {case_id: pool.submit(_run_case, lab, workdir, case_id, spec, baseline)
                       for case_id, spec in zip(ids, selected)}
            if any(item.name == CONTROL for item in request.session.items):
                futures[CONTROL] = pool.submit(_run_control, lab, workdir, baseline)
            results = {case_id: future.result() for case_id, future in futures.items()}
        results["_baseline"] = baseline
        yield results
        _clean_cluster(lab)


def _clean_cluster(lab):
    """Only when a case wrongly went on and deployed: remove what it left in badin-* namespaces."""
    left = _cluster(lab)
    if not left["ok"]:
        return
    for secret in left["helm_secrets"]:
        namespace = secret.split("/")[0]
        release = re.sub(r"^sh\.helm\.release\.v1\.(.*)\.v[0-9]+$", r"\1", secret.split("/")[1])
        subprocess.run([lab.helm, "--kubeconfig", lab.kubeconfig, "-n", namespace, "uninstall", release, "--no-hooks"],
                       capture_output=True, check=False)
    for namespace in left["namespaces"]:
        lab.kubectl_run("delete", namespace, "--wait=false", check=False)


@pytest.mark.parametrize("spec", CASES)
def test_bad_input_fails_before_any_change(lab, outcomes, request, record_property, spec):
    case_id = request.node.callspec.id
    out = outcomes[case_id]
    output = out["output"]
    variable = spec["words"][0]
    message = _message_line(output, variable)
    no_change = out["hosts_unchanged"] and out["no_microk8s"] and out["cluster_unchanged"]
    record_property("bad_input", {"case": case_id, "index": CASE_IDS.index(case_id), "message": message,
                                  "no_change": no_change})

    tail = output[-4000:]
    assert out["returncode"] not in (0, None), "site.yml did not fail:\n" + tail
    missing = [w for w in spec["words"] if w not in output]
    assert not missing, "the message lacks %r:\n%s" % (missing, tail)
    assert message, "no failure line names %s:\n%s" % (variable, tail)
    assert out["hosts_unchanged"], "a node changed although the input was rejected: %s -> %s" % (
        outcomes["_baseline"], out["after"])
    assert out["no_microk8s"], "microk8s is installed: %s" % {n: out["after"][n]["snap_list"] for n in NODES}
    assert out["cluster_unchanged"], "the cluster changed: %s" % out["cluster"]
    assert lab.registry_password() not in output, "the registry password reached the output"
    leaked = [secret for secret in spec["absent"] if secret in output]
    assert not leaked, "a secret reached the output: %r" % leaked


def test_the_inventory_without_a_bad_setting_passes_preflight(outcomes):
    out = outcomes[CONTROL]
    assert out["returncode"] == 0, out["output"][-4000:]
    assert re.search(r"%s\s+: ok=\d+\s+changed=0 " % MAIN, out["output"]), out["output"][-2000:]
    assert out["hosts_unchanged"] and out["cluster_unchanged"], out
