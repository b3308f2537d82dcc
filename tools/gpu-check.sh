#!/usr/bin/env bash
# The prepared GPU check (issue 10, "Fill a GPU"): on any CUDA machine, print every figure the
# issue's "Done when" asks for, each step under `timeout`, a failed step reported and the next run.
#
#   make gpu-check                       # every step, figures into $OUT (default results/gpu-check)
#   bash tools/gpu-check.sh bench tests  # some steps: setup bench tests study report paper
#
# Steps and their time limits (seconds; override with e.g. GPU_CHECK_BENCH_S=300):
#   setup   install the wheels of `make gpu-carry` (.gpu-carry/wheels, no network needed) into
#           .gpu-site (git-ignored, outside .gpu-carry so that a new carry of it keeps them), and
#           Debian's Fashion-MNIST files into /usr/share/datasets/fashion-mnist
#   bench   make bench-gpu: fp32/tf32/bf16 Xavier-lab packs at K >= 1000 with their share of the
#           matmul rate measured in the same run, the depth-30 x 400 ReLU pack with the CUDA-graph
#           flag off and on, set-up seconds, peak memory against the estimate
#   tests   tests/test_train.py on CUDA: with INITBENCH_CUDA_GRAPHS=1, then with
#           INITBENCH_SYNC_DEBUG=1 (the engine runs its steps under
#           torch.cuda.set_sync_debug_mode("error"))
#   study   the default study end to end up to the figures: snakemake wall time with
#           --resources gpu=<GPUs x gpu_jobs>, and the sum of the train jobs' seconds; it runs in
#           $STUDY_DIR (default /tmp/initbench-gpu-check), and jobs.json and the logs go to $OUT
#   report  the report rule alone, timed (it needs pango; a bare GPU image may lack it)
#   paper   make bench-paper on tests/config/paper-offline.yaml: the projected wall time per
#           study and precision
# The device tool allows 10 minutes a command, so run it in two calls, e.g.
#   OUT=$OUT bash tools/gpu-check.sh setup bench tests      (about 4-8 min)
#   OUT=$OUT bash tools/gpu-check.sh setup study report paper   (setup is quick the second time)
set -u
cd "$(dirname "$0")/.."
if [ "${1:-}" != __run ]; then # the outer call: set up the environment once, for every step
    export ROOT=$PWD
    export OUT=${OUT:-results/gpu-check}
    mkdir -p "$OUT"
    OUT=$(cd "$OUT" && pwd)
    export CARRY=${CARRY:-$ROOT/.gpu-carry}
    export PY=${PYTHON:-python3}
    [ -x "$ROOT/.venv/bin/python" ] && PY=$ROOT/.venv/bin/python
    export SITE=${GPU_CHECK_SITE:-$ROOT/.gpu-site}
    export PYTHONPATH="$ROOT/src:$SITE${PYTHONPATH:+:$PYTHONPATH}"
    export PATH="$SITE/bin:$PATH"
    export SUMMARY=$OUT/summary.txt
    export STUDY_DIR=${STUDY_DIR:-${TMPDIR:-/tmp}/initbench-gpu-check}
    export STUDY_CONFIG=${GPU_CHECK_STUDY_CONFIG:-$ROOT/config/config.yaml}   # another config: try it on a CPU
    export PAPER_CONFIG=${GPU_CHECK_PAPER_CONFIG:-$ROOT/tests/config/paper-offline.yaml}
    export PAPER_ARGS=${GPU_CHECK_PAPER_ARGS:-}  # e.g. "--steps 1 --eval-samples 8" on a CPU
    touch "$SUMMARY"
    echo "== $(date -u +%FT%TZ) gpu-check ${*:-all steps}" >>"$SUMMARY"
fi

note() { echo "$*" | tee -a "$SUMMARY"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
since() { local ms=$(($(now_ms) - $1)); echo "$((ms / 1000)).$((ms % 1000 / 100))"; }

# step NAME LIMIT_S COMMAND...: run it under timeout, log into $OUT/NAME.log, note time and status
step() {
    local name=$1 limit=$2
    shift 2
    local begun=$SECONDS rc
    echo "== $name (limit ${limit} s): $*"
    timeout --kill-after=10 "$limit" bash "$ROOT/tools/gpu-check.sh" __run "$@" 2>&1 | tee "$OUT/$name.log"
    rc=${PIPESTATUS[0]}
    local took=$((SECONDS - begun))
    case $rc in
    0) note "$name: ok, ${took} s" ;;
    124 | 137) note "$name: TIMED OUT after ${took} s (limit ${limit} s)" ;;
    *) note "$name: FAILED (exit $rc) after ${took} s; see $OUT/$name.log" ;;
    esac
    return "$rc"
}

setup() {
    if [ -d "$CARRY/wheels" ] && ! [ -f "$SITE/.installed" ]; then
        # the wheels are for the GPU image's Python (3.12, see tools/gpu-carry.sh)
        "$PY" -m pip install -q --no-index --no-deps --target "$SITE" "$CARRY"/wheels/*.whl || return 1
        touch "$SITE/.installed"
    fi
    local fm=/usr/share/datasets/fashion-mnist
    if [ -d "$CARRY/fashion-mnist" ] && ! [ -f "$fm/train-images-idx3-ubyte.gz" ]; then
        mkdir -p "$fm" && cp "$CARRY"/fashion-mnist/*.gz "$fm"/
    fi
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
    "$PY" -c "import torch, snakemake, jsonschema, mnist1d; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name() if torch.cuda.is_available() else '')"
}

bench() {
    "$PY" -m initbench.gpubench --out "$OUT/gpu.json"
}

cuda_tests() {
    INITBENCH_DEVICE=cuda INITBENCH_CUDA_GRAPHS=1 "$PY" -m pytest -q -p no:cacheprovider tests/test_train.py &&
        INITBENCH_DEVICE=cuda INITBENCH_SYNC_DEBUG=1 "$PY" -m pytest -q -p no:cacheprovider tests/test_train.py
}

smk() {
    "$PY" -m snakemake --snakefile "$ROOT/Snakefile" --directory "$STUDY_DIR" \
        --configfile "$STUDY_CONFIG" --cores all --scheduler greedy "$@"
}

study() {
    rm -rf "$STUDY_DIR" && mkdir -p "$STUDY_DIR"
    local gpus begun
    gpus=$("$PY" -m initbench.devices --configfile "$STUDY_CONFIG")
    echo "--resources gpu=$gpus"
    begun=$(now_ms)
    smk --resources gpu="$gpus" --omit-from report || return 1
    note "study: snakemake wall time up to the figures $(since "$begun") s (gpu=$gpus); issue: <= 90 s, was 266 s"
    mkdir -p "$OUT/study" && cp -r "$STUDY_DIR/results/metrics/jobs.json" "$STUDY_DIR/results/logs" "$OUT/study/"
    "$PY" - "$STUDY_DIR/results/metrics/jobs.json" <<'PYEOF' | tee -a "$SUMMARY"
import json, sys
jobs = json.load(open(sys.argv[1]))
on = {}
for j in jobs:
    on.setdefault(j.get("device", "?"), []).append(j["seconds"])
print(f"study: {len(jobs)} train jobs, sum of their seconds {sum(sum(v) for v in on.values()):.1f}; "
      + ", ".join(f"{len(v)} on {d} ({sum(v):.1f} s)" for d, v in sorted(on.items())))
PYEOF
}

report() {
    local begun
    begun=$(now_ms)
    smk || return 1
    note "report: $(since "$begun") s for the report rule alone"
}

paper() {
    # shellcheck disable=SC2086 # PAPER_ARGS is a list of words
    "$PY" -m initbench.paperbench --configfile "$PAPER_CONFIG" --out "$OUT/paper.json" $PAPER_ARGS
}

if [ "${1:-}" = __run ]; then # the inner call, under timeout: one step's function
    shift
    "$@"
    exit $?
fi

failed=0
for s in ${*:-setup bench tests study report paper}; do
    case $s in
    setup) step setup "${GPU_CHECK_SETUP_S:-120}" setup || failed=1 ;;
    bench) step bench-gpu "${GPU_CHECK_BENCH_S:-240}" bench || failed=1 ;;
    tests) step cuda-tests "${GPU_CHECK_TESTS_S:-240}" cuda_tests || failed=1 ;;
    study) step study "${GPU_CHECK_STUDY_S:-240}" study || failed=1 ;;
    report) step report "${GPU_CHECK_REPORT_S:-90}" report || failed=1 ;;
    paper) step bench-paper "${GPU_CHECK_PAPER_S:-240}" paper || failed=1 ;;
    *) echo "unknown step $s; steps: setup bench tests study report paper" && exit 2 ;;
    esac
done
echo "== summary ($OUT)"
cat "$SUMMARY"
exit $failed
