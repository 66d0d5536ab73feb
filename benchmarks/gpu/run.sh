#!/usr/bin/env bash
# The GPU benchmarks in one prepared run, for a machine that reaches no package registry (see
# benchmarks/README.md for the device call): installs what the machine lacks from the carried wheels
# (benchmarks/gpu/fetch_wheels.sh fills benchmarks/gpu/wheels/ beforehand), then runs
#   1. benchmarks/train_throughput.py: Qwen2-VL-2B shapes, random weights, bf16, batch 4, 4 data-loader workers
#   2. benchmarks/hf_decode.py: ms per decode step of the same model against the memory-bandwidth floor
# and writes their RESULTS.md sections into the repo's benchmarks/RESULTS.md and $OUT/RESULTS.md (what
# comes back from the device), with each benchmark's JSON and the log.
#
#   bash benchmarks/gpu/run.sh            # on the GPU machine, from anywhere in the repo
#   bash benchmarks/gpu/run.sh --smoke    # CPU dry run with tiny models; sections go to $OUT/RESULTS.md only
#   env: PYTHON (python3), WHEELS (benchmarks/gpu/wheels), OUT (benchmarks/gpu/out)
set -uo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
WHEELS=${WHEELS:-benchmarks/gpu/wheels}
OUT=${OUT:-benchmarks/gpu/out}
smoke=0
[[ ${1:-} == --smoke ]] && smoke=1
mkdir -p "$OUT"
exec > >(tee "$OUT/log.txt") 2>&1
export PYTHONPATH="$PWD/src" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
# Only the carried wheels: no index, and no pip settings of the machine (extra indexes, constraints).
unset "${!PIP_@}"
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1

echo "== wheels: what this machine lacks"
need=$("$PYTHON" benchmarks/gpu/wheels.py missing "$WHEELS") || exit 1
if [[ -n $need ]]; then
  # shellcheck disable=SC2086  # one argument per NAME==VERSION
  # With dependencies resolved, so pip says which requirement the machine cannot meet; if one of the
  # image's own packages has a requirement nothing here meets, install the carried closure as it is.
  "$PYTHON" -m pip install --quiet --no-index --find-links "$WHEELS" --no-cache-dir $need || {
    echo "  (pip could not resolve from $WHEELS alone, see above; installing the carried wheels without resolving)"
    "$PYTHON" -m pip install --quiet --no-index --find-links "$WHEELS" --no-cache-dir --no-deps $need || exit 1
  }
else
  echo "  nothing: every carried package is there"
fi
"$PYTHON" - <<'PY' || exit 1
import importlib, platform
for name in ("torch", "transformers", "trl", "datasets", "peft", "accelerate", "pydantic", "platformdirs", "mmrole"):
    module = importlib.import_module(name)
    print(f"  {name} {getattr(module, '__version__', '?')}")
import torch
print("  python", platform.python_version(), "| GPU:", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")
PY

results=benchmarks/RESULTS.md
if (( smoke )); then
  cp "$results" "$OUT/RESULTS.md"
  results=$OUT/RESULTS.md
  train=(--tiny --batch-size 2 --workers 2 --warmup 1 --steps 2)
  decode=(--tiny --batch 1 2)
else
  train=(--size 2b --batch-size 4 --workers 4)
  decode=(--size 2b --batch 1 8)
fi
status=0
echo "== training throughput: ${train[*]}"
"$PYTHON" benchmarks/train_throughput.py "${train[@]}" --results "$results" --json "$OUT/train_throughput.json" || status=1
echo "== HF decode: ${decode[*]}"
"$PYTHON" benchmarks/hf_decode.py "${decode[@]}" --results "$results" --json "$OUT/hf_decode.json" || status=1
[[ $results == "$OUT/RESULTS.md" ]] || cp "$results" "$OUT/RESULTS.md"
echo "== done (status $status): $OUT/RESULTS.md"
exit $status
