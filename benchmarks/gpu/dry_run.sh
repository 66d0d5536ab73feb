#!/usr/bin/env bash
# Prove benchmarks/gpu/run.sh end to end without a GPU: build a venv here that has only what the device
# image has (torch and its requirements, and the compiled packages wheels.py leaves to the image), none of
# mmrole's training stack, fetch the wheels for this Python, and run run.sh --smoke in it with pip
# reaching no index. Everything goes under $SIM (default /tmp/mmrole-gpu-dry-run); the repo is not touched.
#
#   VENV_PY=/path/to/.venv/bin/python bash benchmarks/gpu/dry_run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV_PY=${VENV_PY:-.venv/bin/python}
SIM=${SIM:-/tmp/mmrole-gpu-dry-run}
rm -rf "$SIM" && mkdir -p "$SIM"
base=$("$VENV_PY" -c 'import sys; print(sys._base_executable)')
version=$("$VENV_PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
"$base" -m venv "$SIM/venv"
# The venv's own setuptools would shadow the image's (torch requires a recent one).
"$SIM/venv/bin/python" -m pip uninstall --quiet --yes setuptools

# The "image": the venv's own files of these distributions, hard-linked into the new venv's site-packages
# (where the device image has them; dill, which datasets uses, pickles modules from elsewhere by value).
site=$("$SIM/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
"$VENV_PY" - "$site" <<'PY'
import os, shutil, sys
from importlib import metadata
from pathlib import Path
sys.path.insert(0, "benchmarks/gpu")
from wheels import plan
from packaging.requirements import Requirement

image = Path(sys.argv[1])


def link(source: Path, target: Path) -> None:
    try:  # hard links: no copy, and removing one never touches the venv's file
        if source.is_dir():
            shutil.copytree(source, target, symlinks=True, copy_function=os.link)
        else:
            os.link(source, target)
    except OSError:  # another file system
        shutil.rmtree(target, ignore_errors=True)
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, target)


names = {name for name, _, kind in plan("mmrole", ["hf", "train"], set(), "%d.%d" % sys.version_info[:2]) if kind == "image"}
queue = ["torch", "setuptools"]
while queue:  # torch and everything it requires
    name = queue.pop()
    if name in names:
        continue
    names.add(name)
    for line in metadata.requires(name) or []:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            queue.append(req.name.lower())
for name in sorted(names):
    dist = metadata.distribution(name)
    site = Path(dist.locate_file(""))
    for top in sorted({Path(f).parts[0] for f in dist.files or [] if not str(f).startswith("..")}):
        if not (image / top).exists():
            link(site / top, image / top)
print("image:", ", ".join(sorted(names)))
PY

VENV_PY=$VENV_PY DEST=$SIM/wheels PYTHON_VERSION=$version bash benchmarks/gpu/fetch_wheels.sh
PYTHON=$SIM/venv/bin/python WHEELS=$SIM/wheels OUT=$SIM/out bash benchmarks/gpu/run.sh --smoke
