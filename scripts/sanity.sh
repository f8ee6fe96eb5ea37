#!/usr/bin/env bash
# ansible-test sanity without Docker: the collection is copied to a temporary
# ansible_collections/kaapana/platform tree (ansible-test insists on that layout) and
# tested with the machine's Python; `--venv` lets ansible-test keep each test's pinned
# requirements in its own cached virtualenv under ~/.ansible/test.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/.venv/bin:$PATH
pyver=$(python -c 'import sys;print("%d.%d" % sys.version_info[:2])')
# ansible-test --venv bootstraps pip with a script from a host these machines cannot reach;
# put our local equivalent where ansible-test caches that script (one per pip version it asks for).
pipver=$(python -c 'from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
import sys
print(get_venv_packages(NativePythonConfig(version="%d.%d" % sys.version_info[:2], path=sys.executable))["pip"])')
mkdir -p ~/.ansible/test/cache
cp scripts/ansible-test-get-pip.py ~/.ansible/test/cache/get_pip_${pipver//./_}.py
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
