{{/*
LAB FIXTURE of Kaapana's migration image (utils/migration-chart/docker/files/migration.py, release 0.6.1), POSIX sh
so that the node container's /bin/sh runs it. It decides as migration.py decides:
- FAST_DATA_DIR / SLOW_DATA_DIR unset or missing, FROM_VERSION / TO_VERSION unset: error, exit 1.
- FROM_VERSION "fresh": write TO_VERSION (no newline) to $FAST_DATA_DIR/version, exit 0.
- FROM_VERSION "autodetect": the version in the name of $FAST_DATA_DIR/extensions/kaapana-platform-chart-<v>.tgz
  (the first one), else migration.py's error, exit 1.
- FROM and TO are parsed as migration.py parses them: the part before the first "-" must be exactly
  MAJOR.MINOR.PATCH integers, else Python's ValueError, exit 1 (so a version file holding "0.6", which a
  migration writes, cannot be a FROM_VERSION, as in Kaapana). Majors differ: "Major version migration not
  supported yet", exit 1.
- The chain of minor steps MAJOR.m -> MAJOR.m+1 from FROM's minor up to TO's (empty when the minors are equal or
  TO is older: nothing changes, exit 0). Each step needs a migration script: Kaapana 0.6.1 ships
  0.3.x-0.4.x, 0.4.x-0.5.x and 0.5.x-0.6.x; any other step fails before anything is done ("No migration script
  found"), exit 1.
- Each step, in place of Kaapana's migration-<a>.<b>.x-<a>.<b+1>.x.sh (which moves hostPath data into PVCs):
  appends "migration-<a>.<b>.x-<a>.<b+1>.x done" to $FAST_DATA_DIR/migration.log and, if
  $FAST_DATA_DIR/postgres/PG_VERSION exists, appends the line "kaapana-schema <a>.<b+1>" to it (the fixture's
  "data that a migration changes"); then writes "<a>.<b+1>" (no newline) to $FAST_DATA_DIR/version and checks
  that the version file's minor is <b+1>, as migration.py does.
*/}}
{{- define "migration.script" -}}
set -eu
log() { echo "$(date '+%Y-%m-%d %H:%M:%S') [$1] __main__: $2"; }
fail() { log ERROR "$1"; exit 1; }
STEPS="0.3.x-0.4.x 0.4.x-0.5.x 0.5.x-0.6.x"
[ -n "${FAST_DATA_DIR:-}" ] || fail "No fast_data_dir specified"
[ -d "$FAST_DATA_DIR" ] || fail "fast_data_dir doees not exists: $FAST_DATA_DIR"
[ -n "${SLOW_DATA_DIR:-}" ] || fail "No slow_data_dir specified"
[ -d "$SLOW_DATA_DIR" ] || fail "slow_data_dir doees not exists: $SLOW_DATA_DIR"
[ -n "${FROM_VERSION:-}" ] || fail "No from_version"
[ -n "${TO_VERSION:-}" ] || fail "No to_version"
from=$FROM_VERSION
to=$TO_VERSION
if [ "$from" = fresh ]; then
  log INFO "Assuming fresh installation"
  mkdir -p "$FAST_DATA_DIR"
  log INFO "Creating version file imprint: $to"
  printf '%s' "$to" > "$FAST_DATA_DIR/version"
  exit 0
fi
if [ "$from" = autodetect ]; then
  ext="$FAST_DATA_DIR/extensions"
  log INFO "Trying to automatically detect version using kaapana-platform-chart in $ext"
  found=""
  count=0
  for f in "$ext"/kaapana-platform-chart-*.tgz; do
    [ -e "$f" ] || continue
    count=$((count + 1))
    [ -n "$found" ] || found=$f
  done
  [ -n "$found" ] || fail "No kaapana-platform-chart-*.tgz found in $ext. Please create version file \`sudo nano version\` and add <version> (e.g., 0.4.1) inside the <fast_data_dir> and re-run"
  [ "$count" -eq 1 ] || log WARNING "Multiple kaapana-platform-chart files found, taking the first one: $found"
  name=${found##*/}
  from=$(printf '%s\n' "$name" | sed -n 's/^kaapana-platform-chart-\([0-9][0-9]*\.[0-9][0-9]*\(\.[0-9][0-9]*\)\{0,1\}\(-[^-][^-]*\)\{0,1\}\)\.tgz$/\1/p')
  [ -n "$from" ] || fail "Could not parse version from $name"
  log INFO "Detected platform version: $from"
fi
log INFO "$FAST_DATA_DIR"
log INFO "$SLOW_DATA_DIR"
log INFO "$from"
log INFO "$to"
# migration.py: major, minor, _ = map(int, version.split("-")[0].split("."))
parse() {
  base=${1%%-*}
  rest=$base
  n=0
  while :; do
    part=${rest%%.*}
    case $part in
      ''|*[!0-9]*) fail "ValueError: invalid literal for int() with base 10: '$part'" ;;
    esac
    n=$((n + 1))
    [ "$n" -eq 1 ] && major=$part
    [ "$n" -eq 2 ] && minor=$part
    [ "$rest" = "$part" ] && break
    rest=${rest#*.}
  done
  [ "$n" -ge 3 ] || fail "ValueError: not enough values to unpack (expected 3, got $n)"
  [ "$n" -eq 3 ] || fail "ValueError: too many values to unpack (expected 3)"
}
num() { v=${1#"${1%%[!0]*}"}; echo "${v:-0}"; }  # int("06") is 6, not octal
parse "$from"
major_from=$(num "$major")
minor_from=$(num "$minor")
parse "$to"
major_to=$(num "$major")
minor_to=$(num "$minor")
[ "$major_from" -eq "$major_to" ] || fail "Major version migration not supported yet"
log INFO "Generating migration chain"
chain=""
current=$minor_from
while [ "$current" -lt "$minor_to" ]; do
  chain="$chain $major_from.$current.x-$major_to.$((current + 1)).x"
  current=$((current + 1))
done
log INFO "Migration chain generated. Validatin migration chain"
for step in $chain; do
  case " $STEPS " in
    *" $step "*) ;;
    *) log ERROR "No migration script found: /kaapana/app/migration-$step.sh"; fail "No migration performed." ;;
  esac
done
for step in $chain; do
  new_minor=${step#*-*.}
  new_minor=${new_minor%%.*}
  log INFO "Running migration script: /kaapana/app/migration-$step.sh"
  echo "migration-$step done" >> "$FAST_DATA_DIR/migration.log"
  if [ -f "$FAST_DATA_DIR/postgres/PG_VERSION" ]; then
    echo "kaapana-schema $major_to.$new_minor" >> "$FAST_DATA_DIR/postgres/PG_VERSION"
  fi
  log INFO "Migration script completed successfully."
  log INFO "Overwrite version file with the new version"
  printf '%s' "$major_to.$new_minor" > "$FAST_DATA_DIR/version"
  log INFO "Check version file is the newest version"
  minor_final=$(cut -d. -f2 < "$FAST_DATA_DIR/version")
  [ "$minor_final" -eq "$new_minor" ] || fail "AssertionError: Not finished on the same version!: minor_to=$new_minor -> minor_final=$minor_final"
done
{{- end }}
