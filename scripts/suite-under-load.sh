#!/usr/bin/env bash
# The whole test suite, RUNS times in a row (default 3), while HOGS CPU-bound processes (default 4) spin
# beside it: proof that no test depends on the machine being quiet. Prints each run's time and verdict,
# the load average seen, and exits non-zero at the first failed run.
#
#   bash scripts/suite-under-load.sh                  # 3 runs beside 4 hogs, the README's test command
#   RUNS=1 HOGS=4 bash scripts/suite-under-load.sh -m "not slow"   # extra arguments go to pytest
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
hogs=${HOGS:-4}
python=${PYTHON:-.venv/bin/python}
[ -x "$python" ] || python=python3

pids=()
stop_hogs() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap stop_hogs EXIT INT TERM
for _ in $(seq "$hogs"); do
    "$python" -c "while True: pass" &
    pids+=("$!")
done
echo "suite-under-load: $hogs CPU-bound processes beside the suite on $(nproc) cores; $runs runs"

status=0
for n in $(seq "$runs"); do
    log=$(mktemp -t suite-under-load.XXXXXX.log)
    start=$(date +%s)
    "$python" -m pytest -n auto -p no:cacheprovider "$@" >"$log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    summary=$(grep -E "(passed|failed|error)" "$log" | tail -n 1)
    printf 'run %d: exit %d in %dm%02ds (load average %s): %s\n' "$n" "$rc" $((secs / 60)) $((secs % 60)) "$load" "$summary"
    if [ "$rc" -ne 0 ]; then
        echo "run $n failed; its log: $log"
        grep -E "^(FAILED|ERROR)" "$log" | head -n 20
        status=1
        break
    fi
    rm -f "$log"
done
exit $status
