#!/usr/bin/env bash
# Runs one Molecule scenario (or `--all`) against the running lab: the lab's settings
# (node image, shared folder, binaries, kubeconfig) reach molecule.yml as environment variables.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/.venv/bin:$PATH
# The node image is keyed by the stand-ins' content: build it if they changed since lab up.
python -m lab build >/dev/null
eval "$(python -m lab env)"
export K8S_AUTH_KUBECONFIG=$KUBECONFIG
export ANSIBLE_COLLECTIONS_PATH=$PWD/.build/collections
export ANSIBLE_ROLES_PATH=$PWD/roles
export MOLECULE_PROJECT_DIRECTORY=$PWD
if [ "${1:-}" = "--all" ]; then
  shift
  exec molecule test --all "$@"
fi
exec molecule test -s "$1" "${@:2}"
