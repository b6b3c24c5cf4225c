#!/usr/bin/env bash
# One prepared GPU check for issue #5: fused SGNS tests, kernel benchmarks and a synthetic
# end-to-end run, in about 5 minutes on one CUDA GPU. Needs torch, triton, numba, numpy, scipy,
# pytest and pytest-benchmark; no spaCy, no network. Writes JSON, logs and summary.md into
# $OUT (if set) or benchmarks/results/<date>-<host>/ and prints a short table last.
# Exit status: 0 all passed, 1 a step failed (numbers from failed steps are not to be published).
#
#   bash benchmarks/gpu_check.sh            # from anywhere inside the repository
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python}"
RESULTS="${OUT:-$ROOT/benchmarks/results/$(date +%Y%m%d-%H%M%S)-$(hostname 2>/dev/null || echo host)}"
mkdir -p "$RESULTS"
unset TRITON_INTERPRET
export PYTHONUNBUFFERED=1
declare -A STATUS=()
ORDER=()
NONFATAL=" tests_gpu_other bench_classify "  # other ops' GPU tests: reported, but not this check's verdict

step() {  # step NAME TIMEOUT_S CMD...: run, log, record the exit status, never abort the script
    local name="$1" limit="$2"
    shift 2
    ORDER+=("$name")
    echo "== $name (limit ${limit}s): $*"
    local t0=$SECONDS rc=0
    timeout --kill-after=10 "$limit" "$@" > >(tee "$RESULTS/$name.log") 2>&1 || rc=$?
    if [[ $rc -eq 124 || $rc -eq 137 ]]; then
        echo "!! $name timed out after ${limit}s"
    fi
    STATUS[$name]="rc=$rc $((SECONDS - t0))s"
    echo "== $name: rc=$rc in $((SECONDS - t0))s"
}
# pytest exits 5 when -m gpu selects nothing: not a failure
no_tests_ok() { [[ "${STATUS[$1]}" == rc=5* ]] && STATUS[$1]="rc=0 (no tests selected)" || true; }

if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L; then
    echo "gpu_check: no NVIDIA GPU visible (nvidia-smi -L failed); nothing to check" >&2
    exit 2
fi
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv \
    | tee "$RESULTS/gpu.csv"
"$PY" - <<'EOF' | tee "$RESULTS/env.txt"
import importlib, sys
print("python", sys.version.split()[0])
for m in ("torch", "triton", "numba", "numpy", "scipy", "pytest", "pytest_benchmark"):
    try:
        print(m, importlib.import_module(m).__version__)
    except Exception as e:  # report every missing piece at once
        print(m, "MISSING:", type(e).__name__, e)
import torch
print("cuda", torch.version.cuda, "available", torch.cuda.is_available())
EOF

if [[ "${GPU_CHECK_SKIP_INSTALL:-0}" == 1 ]]; then
    echo "== install skipped (GPU_CHECK_SKIP_INSTALL=1)"
else
    step install 180 "$PY" -m pip install --no-deps --no-build-isolation -e .
fi
if [[ "${STATUS[install]:-rc=0}" != rc=0* ]]; then
    echo "gpu_check: editable install failed (see $RESULTS/install.log); needs setuptools>=68" >&2
    exit 1
fi

step tests_fused 240 "$PY" -m pytest -q -p no:cacheprovider tests/kernels/test_sgns_fused.py \
    --junitxml "$RESULTS/tests_fused.xml" -o addopts="-ra"
step bench 330 "$PY" -m pytest -q -p no:cacheprovider benchmarks/bench_sgns_fused.py \
    --benchmark-only --benchmark-json "$RESULTS/bench_sgns_fused.json" -o addopts="-ra"
step e2e 120 "$PY" benchmarks/gpu_e2e.py --seconds 10 --pool-pairs 16777216 \
    --json "$RESULTS/e2e.json"
step pretrain 240 "$PY" benchmarks/gpu_pretrain.py --json "$RESULTS/pretrain.json"
step bench_classify 90 "$PY" -m pytest -q -p no:cacheprovider benchmarks/bench_classify.py \
    --benchmark-only -k cuda --benchmark-json "$RESULTS/bench_classify.json" -o addopts="-ra"
step tests_gpu_other 90 "$PY" -m pytest -q -p no:cacheprovider -m gpu tests \
    --ignore=tests/kernels/test_sgns_fused.py --continue-on-collection-errors \
    --junitxml "$RESULTS/tests_gpu_other.xml" -o addopts="-ra"
no_tests_ok tests_gpu_other

STATUS_LINE=""
for name in "${ORDER[@]}"; do STATUS_LINE+="$name ${STATUS[$name]}; "; done
export STATUS_LINE RESULTS
"$PY" - <<'EOF' | tee "$RESULTS/summary.md"
import json, os
from pathlib import Path

res = Path(os.environ["RESULTS"])
print("## gpu_check summary\n")
print("steps:", os.environ["STATUS_LINE"])
bench = res / "bench_sgns_fused.json"
copy_bw = None
if bench.exists():
    data = json.loads(bench.read_text())["benchmarks"]
    for b in data:
        if "copy_gb_per_s" in b["extra_info"]:
            copy_bw = b["extra_info"]["copy_gb_per_s"]
    gpu = data[0]["extra_info"].get("gpu", "?") if data else "?"
    print(f"gpu: {gpu}; device copy bandwidth: {copy_bw or float('nan'):.0f} GB/s\n")
    print("| group | provider | Mpairs/s | model GB/s | % copy bw | x reference |")
    print("|---|---|---:|---:|---:|---:|")
    for b in data:
        e = b["extra_info"]
        if "pairs_per_s" not in e:
            continue
        pct = 100 * e["model_gb_per_s"] / copy_bw if copy_bw else float("nan")
        print(f"| {b['group']} | {e['provider']} | {e['pairs_per_s'] / 1e6:.1f} | "
              f"{e['model_gb_per_s']:.0f} | {pct:.0f} | {e['ratio_vs_reference']:.1f} |")
else:
    print("no benchmark results (see bench.log)")
e2e = res / "e2e.json"
if e2e.exists():
    r = json.loads(e2e.read_text())
    k, e = r["kernel_only"]["pairs_per_s"], r["end_to_end"]["pairs_per_s"]
    print(f"\nend-to-end (D=300, K=5, fp32, device negatives): kernel only {k / 1e6:.1f} M "
          f"pairs/s, with host feed {e / 1e6:.1f} M pairs/s, ratio {r['e2e_over_kernel']:.2f} "
          f"(target >= 0.70); final loss {r['end_to_end']['final_loss']:.3f}")
else:
    print("\nno end-to-end results (see e2e.log)")
pre = res / "pretrain.json"
if pre.exists():
    r = json.loads(pre.read_text())
    for feed, f in r["feeds"].items():
        print(f"gramfast pretrain --device cuda --gpu-feed {feed} (synthetic store, "
              f"{r['words']:,} words, {r['contexts']:,} contexts, D=300, K=5): "
              f"{f['pairs_per_s_end_to_end'] / 1e6:.1f} M pairs/s over the epoch, best window "
              f"{f['pairs_per_s_best_window'] / 1e6:.1f} M")
EOF

for name in "${ORDER[@]}"; do
    [[ "${STATUS[$name]}" == rc=0* || "$NONFATAL" == *" $name "* ]] && continue
    echo "gpu_check: step $name failed (${STATUS[$name]}); see $RESULTS/$name.log" >&2
    exit 1
done
echo "gpu_check: all steps passed; results in $RESULTS"
