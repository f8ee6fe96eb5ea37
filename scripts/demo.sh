#!/usr/bin/env bash
# make demo: bring the lab up (building what is missing), start three node containers and run
# site.yml against them with inventories/lab, then print the platform URL and a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/.venv/bin:$PATH ANSIBLE_CONFIG=$PWD/ansible.cfg
start=$(date +%s)
python -m lab up
eval "$(python -m lab env)"
export K8S_AUTH_KUBECONFIG=$KUBECONFIG
for spec in lab-main:primary lab-worker-1 lab-worker-2; do
  name=${spec%%:*}
  if [ "$(podman container inspect "$name" --format '{{.State.Running}}' 2>/dev/null)" != "true" ]; then
    python -m lab node "$spec"
  fi
done
ansible-playbook site.yml -i inventories/lab/hosts.yml "$@"
elapsed=$(( $(date +%s) - start ))
echo
echo "== Kaapana demo =="
kubectl --kubeconfig "$KUBECONFIG" get nodes -o wide 2>/dev/null || "$LAB_KUBECTL" get nodes -o wide
"$LAB_KUBECTL" get pods -A --no-headers | awk '{print $1}' | sort | uniq -c | sed 's/^/  pods in namespace: /'
domain=$(python - <<'PY'
import yaml
print(yaml.safe_load(open("inventories/lab/group_vars/all/platform.yml")).get("kaapana_domain", ""))
PY
)
echo "Platform URL: https://${domain}/ (inside the lab; the lab has no ingress to the host)"
echo "Elapsed: ${elapsed}s. The lab keeps running; stop it with: make lab-down"
