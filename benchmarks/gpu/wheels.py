"""Which wheels the GPU benchmarks carry, and which of them a machine still lacks.

The device machine reaches no package registry. Its image has the torch stack (torch, numpy,
pyarrow, pandas, pillow, tokenizers, ...) but not mmrole's training stack (trl, datasets,
pydantic, platformdirs, ...). So:

* ``plan`` (run here, with the project's venv): walk the requirements of mmrole with its ``hf``
  and ``train`` extras through the venv's installed metadata and print ``NAME VERSION KIND``
  per distribution, pinned to the venv's versions. KIND is ``pure`` (a py3-none-any wheel:
  carried) or ``image`` (compiled: taken from the device image, never carried, unless named
  in ``--carry-binary``: then ``binary``). torch and the CUDA packages are never listed.
* ``missing WHEELS_DIR`` (run on the device, stdlib only): print the ``NAME==VERSION`` of each
  carried wheel that the machine lacks, and of each of :data:`PINNED` it has at another version
  (mmrole's code follows these closely: the tests cover the venv's versions); nothing when all
  are there. Other packages the image has are kept as they are: pip, resolving the install
  from the carried wheels, replaces one only where a pinned package's requirements exclude it.

    .venv/bin/python benchmarks/gpu/wheels.py plan
    python3 benchmarks/gpu/wheels.py missing benchmarks/gpu/wheels
"""

from __future__ import annotations

import argparse
import re
import sys
from importlib import metadata
from pathlib import Path

#: Never carried: the device image's torch and CUDA stack.
NEVER = re.compile(r"^(torch|torchvision|torchaudio|triton|nvidia-.*|cuda-.*)$")
#: Installed at exactly the venv's version, whatever version the device image has.
PINNED = frozenset(
    {"transformers", "trl", "peft", "accelerate", "datasets", "huggingface-hub", "pydantic", "pydantic-core"}
)
#: The manifest fetch_wheels.sh writes beside the wheels: NAME==VERSION per carried wheel.
MANIFEST = "requirements.txt"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _is_pure(dist: metadata.Distribution) -> bool:
    wheel = dist.read_text("WHEEL") or ""
    return "Root-Is-Purelib: true" in wheel and all(
        line.endswith("-none-any") for line in wheel.splitlines() if line.startswith("Tag:")
    )


def plan(root: str, extras: list[str], carry_binary: set[str], python: str) -> list[tuple[str, str, str]]:
    """``(name, version, kind)`` for each distribution mmrole needs, in a stable order."""
    from packaging.requirements import Requirement

    env = {"python_version": python, "python_full_version": f"{python}.0", "sys_platform": "linux",
           "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
           "implementation_name": "cpython", "platform_python_implementation": "CPython"}  # fmt: skip
    found: dict[str, tuple[str, str, str]] = {}
    queue = [(root, tuple(extras))]
    seen: set[tuple[str, tuple[str, ...]]] = set()
    while queue:
        name, wanted = queue.pop()
        if (name, wanted) in seen:
            continue
        seen.add((name, wanted))
        for line in metadata.requires(name) or []:
            req = Requirement(line)
            if req.marker is not None and not any(
                req.marker.evaluate({**env, "extra": extra}) for extra in (*wanted, "")
            ):
                continue
            key = _norm(req.name)
            if NEVER.match(key):
                continue
            if key == _norm(root):  # mmrole[hf] from mmrole[train]
                queue.append((root, tuple(sorted(req.extras))))
                continue
            try:
                dist = metadata.distribution(req.name)
            except metadata.PackageNotFoundError:
                raise SystemExit(f"{req.name} (needed by {name}) is not installed in this venv") from None
            kind = "pure" if _is_pure(dist) else ("binary" if key in carry_binary else "image")
            found[key] = (key, dist.version, kind)
            queue.append((req.name, tuple(sorted(req.extras))))
    return sorted(found.values())


def missing(wheels: Path) -> list[str]:
    """The manifest's ``NAME==VERSION`` lines this interpreter lacks (or has at another version, for
    :data:`PINNED`)."""
    manifest = wheels / MANIFEST
    if not manifest.is_file():
        raise SystemExit(
            f"{manifest} not found: run benchmarks/gpu/fetch_wheels.sh first (on a machine with PyPI)"
        )
    needed = []
    for line in manifest.read_text().split():
        name, version = line.split("==")
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            have = None
        if have is None or (have != version and _norm(name) in PINNED):
            print(f"  {name}: {have or 'missing'} -> {version}", file=sys.stderr)
            needed.append(line)
    return needed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    plan_cmd = sub.add_parser("plan", help="NAME VERSION KIND for each distribution to carry.")
    plan_cmd.add_argument("--root", default="mmrole")
    plan_cmd.add_argument("--extras", default="hf,train")
    plan_cmd.add_argument(
        "--carry-binary", default="", help="Compiled packages to carry anyway (comma list)."
    )
    plan_cmd.add_argument("--python-version", default="3.12", help="The device's Python, for markers.")
    missing_cmd = sub.add_parser("missing", help="Carried wheels this machine lacks, as NAME==VERSION.")
    missing_cmd.add_argument("wheels", type=Path)
    args = parser.parse_args()
    if args.command == "plan":
        carry = {_norm(n) for n in args.carry_binary.split(",") if n}
        for name, version, kind in plan(args.root, args.extras.split(","), carry, args.python_version):
            print(name, version, kind)
    else:
        print(" ".join(missing(args.wheels)))


if __name__ == "__main__":
    main()
