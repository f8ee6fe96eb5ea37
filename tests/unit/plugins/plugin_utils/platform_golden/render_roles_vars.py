"""Render the chart values and the layout the way roles/platform/vars/main.yml computed them before the platform
plan moved to plugin_utils/platform_plan.py (commit 1641f8c): role defaults + an inventory + the main node's stubbed
facts + a cluster reading, templated by Ansible. Kept to regenerate the golden files from that commit:

    git show 1641f8c:roles/platform/vars/main.yml > /tmp/vars.yml
    python render_roles_vars.py /tmp/vars.yml

The golden files are the behaviour the plan must keep (test_platform_plan.py)."""
import json
import os
import sys

from ansible._internal._datatag._tags import TrustedAsTemplate
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", "..", ".."))
sys.path.insert(0, HERE)
from cases import CASES  # noqa: E402


def render(vars_file, case):
    loader = DataLoader()
    variables = {}
    variables.update(loader.load_from_file(os.path.join(ROOT, "roles", "platform", "defaults", "main.yml"),
                                           trusted_as_template=True))
    variables.update(loader.load_from_file(vars_file, trusted_as_template=True))
    variables.update(case["variables"])
    main = "main"
    hostvars = {main: dict(case["main_host"])}
    variables["hostvars"] = hostvars
    variables["groups"] = {"kaapana_main": [main], "all": [main]}
    variables["inventory_hostname"] = main
    cluster = case.get("cluster") or {}
    variables["_kaapana_platform_endpoint_ip"] = cluster.get("endpoint_ip", "")
    variables["_kaapana_platform_replica_count"] = cluster.get("replica_count", 1)
    variables["_kaapana_platform_generated"] = cluster["generated"]
    if "chart_meta" in cluster:
        variables["_kaapana_platform_chart_meta"] = cluster["chart_meta"]
    templar = Templar(loader=loader, variables=variables)
    out = {}
    for name in ("values", "layout", "domain", "storage_classes", "volume_slow_data", "main_node_name",
                 "memory_total_mb", "host_ip", "instance_name", "own_namespaces", "undeploy_namespaces",
                 "pod_namespaces", "gate_namespaces"):
        out[name] = templar.template(TrustedAsTemplate().tag("{{ _kaapana_platform_%s }}" % name))
    return json.loads(json.dumps(out, default=str))


def main():
    finder = _AnsibleCollectionFinder(paths=[os.path.join(ROOT, ".build", "collections")])
    finder._install()
    vars_file = sys.argv[1]
    for name, case in sorted(CASES.items()):
        with open(os.path.join(HERE, "%s.json" % name), "w") as handle:
            json.dump(render(vars_file, case), handle, indent=1, sort_keys=True)
            handle.write("\n")


if __name__ == "__main__":
    main()
