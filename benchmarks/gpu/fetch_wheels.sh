#!/usr/bin/env bash
# Download, here (PyPI reachable), the wheels benchmarks/gpu/run.sh installs on a GPU machine that
# reaches no package registry: mmrole's hf + train requirements, pinned to the project venv's versions,
# pure-Python wheels only plus pydantic-core (the device image lacks pydantic); compiled packages the
# image has (numpy, pyarrow, tokenizers, ...) and torch/CUDA are never carried. Writes DEST/requirements.txt
# (NAME==VERSION per wheel) and checks the folder stays well under the 64 MiB a device call may carry.
#
#   VENV_PY=/path/to/.venv/bin/python bash benchmarks/gpu/fetch_wheels.sh
#   env: VENV_PY (default .venv/bin/python), DEST (benchmarks/gpu/wheels), PYTHON_VERSION (3.12, the
#        device's), CARRY_BINARY (comma list of compiled packages to carry, default pydantic-core),
#        MAX_MIB (40)
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV_PY=${VENV_PY:-.venv/bin/python}
DEST=${DEST:-benchmarks/gpu/wheels}
PYTHON_VERSION=${PYTHON_VERSION:-3.12}
CARRY_BINARY=${CARRY_BINARY:-pydantic-core}
MAX_MIB=${MAX_MIB:-40}
abi="cp${PYTHON_VERSION/./}"

plan=$("$VENV_PY" benchmarks/gpu/wheels.py plan --python-version "$PYTHON_VERSION" --carry-binary "$CARRY_BINARY")
rm -rf "$DEST.partial" && mkdir -p "$DEST.partial"
pins=()
while read -r name version kind; do
  [[ $kind == image ]] && { echo "from the device image: $name (venv: $version)"; continue; }
  pins+=("$name==$version")
done <<<"$plan"
# One pip call: no dependencies (the plan is the closure), wheels only, for the device's Python and Linux.
"$VENV_PY" -m pip download --quiet --no-deps --only-binary=:all: --dest "$DEST.partial" \
  --python-version "$PYTHON_VERSION" --implementation cp --abi "$abi" --abi abi3 --abi none \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform any "${pins[@]}"
printf '%s\n' "${pins[@]}" >"$DEST.partial/requirements.txt"
if ls "$DEST.partial" | grep -Ei '^(torch|triton|nvidia|cuda)' ; then echo "torch/CUDA wheels must not be carried" >&2; exit 1; fi
size=$(du -sm "$DEST.partial" | cut -f1)
if (( size > MAX_MIB )); then echo "wheels take ${size} MiB, over ${MAX_MIB} MiB: a device call carries 64 MiB in all" >&2; exit 1; fi
rm -rf "$DEST" && mv "$DEST.partial" "$DEST"
echo "${#pins[@]} wheels, $(du -sh "$DEST" | cut -f1) in $DEST"
