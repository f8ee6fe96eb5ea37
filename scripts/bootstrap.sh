#!/usr/bin/env bash
# Prepares a brand-new Debian 12 machine for `make test` / `make demo`:
#   1. Debian packages the lab needs, installed only when missing;
#   2. the Python virtualenv (.venv) from the pinned requirements.txt, rebuilt when it changes;
#   3. a link of this checkout as ansible_collections/kaapana/platform under .build/collections.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}

log() { printf '[bootstrap] %s\n' "$*" >&2; }

# Debian packages: command -> package. Checked by command so a machine that already has
# them (from any source) is left alone.
declare -A need=(
  [podman]=podman [runc]=runc [debootstrap]=debootstrap [openssl]=openssl
  [ip]=iproute2 [git]=git [make]=make [curl]=curl [ss]=iproute2 [squid]=squid [iptables]=iptables
)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  log "installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Virtualenv, keyed by the hash of requirements.txt so a change of pins reinstalls.
want=$(sha256sum requirements.txt | cut -c1-16)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.requirements" 2>/dev/null)" != "$want" ]; then
  log "creating virtualenv $VENV from requirements.txt"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -r requirements.txt
  echo "$want" > "$VENV/.requirements"
fi

# The checkout as a collection, for playbooks, ansible-doc and the unit tests' imports.
mkdir -p .build/collections/ansible_collections/kaapana
ln -sfn "$ROOT" .build/collections/ansible_collections/kaapana/platform
log "ready: $($VENV/bin/ansible --version | head -1)"
