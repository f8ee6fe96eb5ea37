#!/usr/bin/env bash
# ansible-lint (production profile, role-argument-spec on) and yamllint via ansible-lint.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/.venv/bin:$PATH ANSIBLE_CONFIG=$PWD/ansible.cfg
out=$(mktemp)
set +e
ansible-lint --nocolor --profile production 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
set -e
files=$(grep -oE '[0-9]+ files processed' "$out" | tail -1)
echo "lint: ansible-lint production profile, ${files:-no files processed}, exit $rc"
rm -f "$out"
exit "$rc"
