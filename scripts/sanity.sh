#!/usr/bin/env bash
# ansible-test sanity without Docker: the collection is copied to a temporary
# ansible_collections/kaapana/platform tree (ansible-test insists on that layout) and
# tested with the machine's Python; `--venv` lets ansible-test keep each test's pinned
# requirements in its own cached virtualenv under ~/.ansible/test.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/.venv/bin:$PATH
pyver=$(python -c 'import sys;print("%d.%d" % sys.version_info[:2])')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/ansible_collections/kaapana/platform
mkdir -p "$dest"
# Tracked and new-but-not-ignored files only: caches, the venv and lab state stay out.
git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$dest"
cd "$dest"
git init -q && git add -A >/dev/null
set +e
ansible-test sanity --venv --python "$pyver" --color no "$@" 2>&1 | tee "$tmp/sanity.log"
rc=${PIPESTATUS[0]}
set -e
ran=$(grep -c '^Running sanity test' "$tmp/sanity.log" || true)
echo "sanity: $ran ansible-test sanity tests run on Python $pyver, exit $rc"
exit "$rc"
