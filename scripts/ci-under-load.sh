#!/usr/bin/env bash
# CI self-check under load: runs .ci/run on a clean clone of the current commit while busy-loop
# processes hold the CPU cores (one per core by default), as on a loaded CI machine, and reports
# the wall time and .ci/run's summary line. docs/testing.md gives the figures for this hardware.
#
#   scripts/ci-under-load.sh                      # whole suite, one busy loop per core
#   scripts/ci-under-load.sh --busy 0             # same clean-clone run, quiet machine
#   scripts/ci-under-load.sh -- collector/test/repo   # only these tests (arguments after -- go to jest)
#   options: --busy N (busy loops, default: the core count), --keep (keep the clone for inspection)
#
# Only committed work is tested (git clone of HEAD). The busy loops and the clone are removed on
# exit, whatever happens; the exit code is .ci/run's.
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
busy="$(nproc)"
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --busy) busy="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    --) shift; break ;;
    *) echo "usage: $0 [--busy N] [--keep] [-- jest arguments...]" >&2; exit 2 ;;
  esac
done

work="$(mktemp -d "${TMPDIR:-/tmp}/sg-ci-under-load.XXXXXX")"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait "${pids[@]}" 2>/dev/null
  if [ "$keep" = 1 ]; then echo "under-load: clone kept in $work/streamgauge"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

git clone --quiet --no-local "$repo" "$work/streamgauge" || { echo "under-load: git clone failed"; exit 1; }
commit="$(git -C "$work/streamgauge" rev-parse --short HEAD)"

for _ in $(seq 1 "$busy"); do
  bash -c 'while :; do :; done' &
  pids+=("$!")
done
echo "under-load: commit $commit, $busy busy loop(s) on $(nproc) core(s), clean clone in $work/streamgauge"

start=$(date +%s)
(cd "$work/streamgauge" && .ci/run "$@") 2>&1 | tee "$work/ci.log"
status=${PIPESTATUS[0]}
elapsed=$(($(date +%s) - start))

echo "under-load: .ci/run exited $status after $((elapsed / 60)) min $((elapsed % 60)) s with $busy busy loop(s) on $(nproc) core(s)"
echo "under-load: $(tail -n 1 "$work/ci.log")"
exit "$status"
