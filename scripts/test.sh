#!/usr/bin/env bash
# make test: ansible-lint and ansible-test sanity run beside the tests, on the CPU the lab tests leave idle while
# they wait for the cluster, instead of before them.
# The gates' logs are kept under tests/output/ and each gate's last line is repeated after the tests; any failure
# (a gate, the lab's own tests or the collection's tests) fails the run.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-$PWD/.venv/bin/python}
out=tests/output
mkdir -p "$out"
rm -f "$out"/lint.log "$out"/sanity.log "$out"/gates.rc

(
  bash scripts/lint.sh > "$out/lint.log" 2>&1; lint=$?
  bash scripts/sanity.sh > "$out/sanity.log" 2>&1; sanity=$?
  echo "$lint $sanity" > "$out/gates.rc"
) &
gates=$!

"$PY" -m pytest --no-cov lab/tests; rig=$?
"$PY" -m pytest --durations=40 tests/unit tests/integration; collection=$?

wait "$gates"
read -r lint sanity < "$out/gates.rc"
echo "lint:   $(tail -n 1 "$out/lint.log") (log: $out/lint.log)"
echo "sanity: $(tail -n 1 "$out/sanity.log") (log: $out/sanity.log)"
[ "$lint" -ne 0 ] && { echo "--- ansible-lint failed:"; tail -n 60 "$out/lint.log"; }
[ "$sanity" -ne 0 ] && { echo "--- ansible-test sanity failed:"; tail -n 60 "$out/sanity.log"; }
echo "make test: lint exit $lint, sanity exit $sanity, lab tests exit $rig, collection tests exit $collection"
[ "$lint" -eq 0 ] && [ "$sanity" -eq 0 ] && [ "$rig" -eq 0 ] && [ "$collection" -eq 0 ]
