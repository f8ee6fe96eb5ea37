"""site.yml end to end on three lab nodes: deploy, idempotent re-run, the chart values Kaapana's
--set line would give, undeploy that keeps the data, and redeploy."""
import hashlib
import json

import pytest

from tests.integration.nodes import node_containers, node_exec, recap, run_playbook, write_inventory

pytestmark = [pytest.mark.lab, pytest.mark.slow]

NODES = ["site-main", "site-worker-1", "site-worker-2"]
PLATFORM_NAMESPACES = ["admin", "services", "extensions", "project-admin"]
DOMAIN = "kaapana.site.lab.internal"


def _group_vars(lab):
    return {
        "kaapana_registry_url": "%s/charts" % lab.registry,
        "kaapana_registry_username": lab.registry_user,
        "kaapana_registry_password": lab.registry_password(),
        "kaapana_platform_name": "kaapana-admin-chart",
        "kaapana_platform_version": "0.6.0-lab",
        "kaapana_plain_http": True,
        "kaapana_domain": DOMAIN,
        "kaapana_proxy_reboot": False,
        "kaapana_microk8s_dns_servers": [lab.cfg.gateway],
        "kaapana_keycloak_admin_password": "Site-Keycloak-1!",
    }


def _pods(lab, namespace):
    out = lab.kubectl_run("-n", namespace, "get", "pods", "-o", "json", check=False)
    return json.loads(out.stdout)["items"] if out.returncode == 0 else []


def _recorded_values(lab):
    cm = json.loads(lab.kubectl_run("-n", "default", "get", "configmap", "kaapana-admin-chart-values", "-o",
                                    "json").stdout)
    return json.loads(cm["data"]["values.json"])


def _sha(text):
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def site(lab, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("site")
    with node_containers(lab, NODES) as names:
        inv = write_inventory(tmp / "hosts.yml", names[:1], names[1:], group_vars=_group_vars(lab))
        yield {"inventory": inv, "tmp": tmp}
        run_playbook(lab, "playbooks/undeploy.yml", inv)


def test_site_deploys_every_pod_ready(lab, site):
    res = run_playbook(lab, "site.yml", site["inventory"])
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-2000:]
    assert "https://%s" % DOMAIN in res.stdout
    for ns in PLATFORM_NAMESPACES:
        pods = _pods(lab, ns)
        assert pods, "no pods in %s" % ns
        for pod in pods:
            done = pod["status"]["phase"] == "Succeeded" or all(
                c["ready"] for c in pod["status"].get("containerStatuses", [{"ready": False}]))
            assert done, "%s/%s is not ready" % (ns, pod["metadata"]["name"])
    nodes = json.loads(lab.kubectl_run("get", "nodes", "-o", "json").stdout)["items"]
    names = {n["metadata"]["name"]: n for n in nodes}
    assert set(NODES) <= set(names)
    assert names["site-main"]["metadata"]["labels"].get("kaapana.io/node") == "storage"


def test_second_run_changes_nothing(lab, site):
    res = run_playbook(lab, "site.yml", site["inventory"])
    assert res.returncode == 0, res.stdout[-4000:]
    counts = recap(res.stdout)
    assert set(NODES) <= set(counts), counts
    assert all(c["changed"] == 0 for c in counts.values()), counts


def test_recorded_chart_values_follow_kaapanas_set_line(lab, site):
    v = _recorded_values(lab)["global"]
    gv = _group_vars(lab)
    expected = {
        "base_namespace": "base", "hostname": DOMAIN, "instance_name": DOMAIN, "instance_uid": "",
        "services_namespace": "services", "admin_namespace": "admin", "extensions_namespace": "extensions",
        "helm_namespace": "admin", "registry_url": gv["kaapana_registry_url"], "release_name": "kaapana-admin-chart",
        "credentials_registry_username": lab.registry_user,
        "credentials_registry_password": _sha(lab.registry_password()),
        "credentials_keycloak_admin_password": _sha("Site-Keycloak-1!"),
        "credentials_minio_username": "kaapanaminio", "credentials_grafana_username": "admin",
        "dicom_port": "11112", "http_port": "80", "https_port": "443",
        "fast_data_dir": "/home/kaapana", "slow_data_dir": "/home/kaapana",
        "gpu_support": False, "dev_mode": True, "offline_mode": False, "prefetch_extensions": False,
        "include_reverse_proxy": False, "pull_policy_images": "Always", "pull_policy_jobs": "Always",
        "pull_policy_pods": "Always", "kaapana_init_password": _sha("kaapana"),
        "storage_class_slow": "kaapana-hostpath-slow-data-dir", "storage_class_fast": "kaapana-hostpath-fast-data-dir",
        "storage_class_workflow": "kaapana-hostpath-fast-data-dir", "main_node_name": "site-main",
        "storage_node": "storage", "volume_slow_data": "100Gi",
        "smtp_host": "", "smtp_port": "0", "email_address_sender": "",
    }
    mismatched = {k: (v.get(k), want) for k, want in expected.items() if v.get(k) != want}
    assert not mismatched, mismatched
    assert isinstance(v["internalCidrs"], list) and "10.152.183.0/24" in v["internalCidrs"]
    assert "10.1.0.0/16" in v["internalCidrs"]
    # Memory split of 70 % of the main node's memory: limit = alloc * pct / 100, request = limit / 3.
    for name, pct in (("pacs", 30), ("airflow", 50), ("opensearch", 20)):
        limit, request = int(v["%s_memory_limit" % name]), int(v["%s_memory_request" % name])
        assert request == limit // 3
        assert limit > 0
    airflow = int(v["airflow_memory_limit"])
    assert int(v["pacs_memory_limit"]) * 5 // 3 in range(airflow - 2, airflow + 3)
    assert isinstance(v["oidc_client_secret"], str) and len(v["oidc_client_secret"]) >= 16


def test_secrets_stay_out_of_verbose_output(lab, site):
    res = run_playbook(lab, "playbooks/deploy.yml", site["inventory"], extra_args=["-vvvv"])
    assert res.returncode == 0, res.stdout[-3000:]
    output = res.stdout + res.stderr
    for secret in (lab.registry_password(), "Site-Keycloak-1!"):
        assert secret not in output, "a secret reached the -vvvv output"


def _data_digest(lab):
    res = node_exec(lab, "site-main", "sh", "-c",
                    "find /home/kaapana -type f -print0 | sort -z | xargs -0 sha256sum", check=False)
    return res.stdout


def test_undeploy_keeps_data_and_leaves_no_pod(lab, site):
    node_exec(lab, "site-main", "sh", "-c",
              "mkdir -p /home/kaapana/dicom/1.2.3 /home/kaapana/postgres && "
              "head -c 65536 /dev/urandom > /home/kaapana/dicom/1.2.3/image.dcm && "
              "echo 'patient data' > /home/kaapana/postgres/PG_VERSION")
    before = _data_digest(lab)
    assert "image.dcm" in before
    res = run_playbook(lab, "playbooks/undeploy.yml", site["inventory"])
    assert res.returncode == 0, res.stdout[-4000:]
    for ns in PLATFORM_NAMESPACES + ["default"]:
        left = [p["metadata"]["name"] for p in _pods(lab, ns) if not p["metadata"].get("deletionTimestamp")]
        assert ns == "default" or not left, "pods left in %s: %s" % (ns, left)
    assert _data_digest(lab) == before


def test_redeploy_brings_the_platform_back(lab, site):
    res = run_playbook(lab, "playbooks/redeploy.yml", site["inventory"])
    assert res.returncode == 0, res.stdout[-4000:]
    assert _pods(lab, "services")
    assert _recorded_values(lab)["global"]["hostname"] == DOMAIN
