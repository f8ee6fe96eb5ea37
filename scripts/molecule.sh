#!/usr/bin/env bash
# Runs one Molecule scenario (or `--all`) against the running lab. molecule/base.yml is what every scenario
# shares: nodes started by the lab (`python -m lab node`, reached over SSH); the lab's settings (kubeconfig,
# registry password file) reach molecule.yml as environment variables.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/.venv/bin:$PATH
eval "$(python -m lab env)"
export K8S_AUTH_KUBECONFIG=$KUBECONFIG
export ANSIBLE_COLLECTIONS_PATH=$PWD/.build/collections
export ANSIBLE_ROLES_PATH=$PWD/roles
export MOLECULE_PROJECT_DIRECTORY=$PWD
if [ "${1:-}" = "--all" ]; then
  shift
  exec molecule --base-config molecule/base.yml test --all "$@"
fi
exec molecule --base-config molecule/base.yml test -s "$1" "${@:2}"
