"""Training data prepared once into an on-disk, memory-mapped dataset that every rank shares.

Holding MMRole's 85k training samples as Python examples costs gigabytes per process (5.1 GB
measured, growing with the file), on each rank of a node, before the model loads. Instead the
examples are streamed one at a time into Arrow files by ``datasets.Dataset.from_generator``, and
the dataset the trainer reads is a memory map of them: the pages are the OS's file cache, shared
by every rank, and preparing takes the same memory at 1k samples as at 85k.

* Once per node: the local main process prepares the data while the other ranks wait
  (accelerate's ``local_main_process_first`` under ``accelerate launch``/``torchrun``), then they
  open what it wrote. A file lock makes concurrent preparations (two jobs, nodes sharing a file
  system) wait for one another instead of writing the same folder.
* Reused: the folder is keyed by the contents of every input (training files, run folders, the
  test sets and out-of-distribution list the holdout reads), the options that shape the examples
  and mmrole's own source code, so a rerun opens it without reading the data again. What
  preparing said (the held-out counts, skipped images) is kept beside it and said again on reuse.
  A reused dataset's images are checked to still exist (a missing one prepares the data again,
  which then stops or skips as ``--missing-images`` says); data prepared while images were
  missing (``--missing-images skip/drop``) is prepared again every time, since they may be back.
* Where: ``$MMROLE_CACHE_DIR/train-data/<kind>-<key>/`` (else the user cache folder, as for the
  demo model). Old folders are not evicted: delete them to reclaim the disk.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmrole.errors import MMRoleError
from mmrole.files import file_digest, write_json
from mmrole.train.examples import ExampleTally

if TYPE_CHECKING:
    from mmrole.train.base_config import TrainConfig

logger = logging.getLogger(__name__)

#: Bump when the layout of the prepared rows changes in a way the source digest cannot see.
SCHEMA = 1
#: The record beside the Arrow files: counts and what preparing said.
INFO_FILE = "prepared.json"
#: The suffixes of the files a folder input is keyed on (images are checked on reuse instead).
DATA_SUFFIXES = (".json", ".jsonl")

#: ``rows(tally)``: the dataset rows, one at a time, counting what was read into ``tally``.
Rows = Callable[[ExampleTally], Iterable[dict[str, Any]]]


@dataclass
class PreparedData:
    """A training dataset on disk, memory-mapped, and what preparing it found.

    Attributes:
        dataset: The ``datasets.Dataset`` (rows ``id``, ``images`` and the method's columns).
        examples: How many rows.
        with_images: How many rows have at least one image.
        notes: ``[logger, level, message]`` of what preparing said (held-out counts, skipped images).
        folder: The cache folder (None for a dataset built in memory).
        reused: Whether the folder was prepared by an earlier run.
    """

    dataset: Any
    examples: int
    with_images: int
    notes: list[list[Any]] = field(default_factory=list)
    folder: Path | None = None
    reused: bool = False

    def for_model(self, *, vision: bool) -> Any:
        """The dataset a model trains on: without the ``images`` column for a text-only model."""
        if vision or "images" not in self.dataset.column_names:
            return self.dataset
        return self.dataset.remove_columns("images")


def data_cache_dir() -> Path:
    """``$MMROLE_CACHE_DIR/train-data``, else the user cache folder's (the demo model's root too)."""
    root = os.environ.get("MMROLE_CACHE_DIR")
    if not root:
        import platformdirs

        root = platformdirs.user_cache_dir("mmrole")
    return Path(root).expanduser() / "train-data"


def path_digest(path: Path) -> str:
    """The SHA-256 of a file's bytes, or of a folder's data files (names and bytes); ``absent``."""
    if path.is_file():
        return file_digest(path) or "absent"
    if not path.is_dir():
        return "absent"
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.suffix in DATA_SUFFIXES and p.is_file()):
        digest.update(f"{file.relative_to(path).as_posix()}\0{file_digest(file)}\n".encode())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def source_digest() -> str:
    """The SHA-256 of mmrole's Python sources: a changed reader or formatter prepares data afresh."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for file in sorted(package.rglob("*.py")):
        digest.update(file.relative_to(package).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def fingerprint(kind: str, options: dict[str, Any], inputs: Iterable[Path]) -> str:
    """The cache key of prepared data: its kind, options, inputs' contents and mmrole's code."""
    import datasets

    digest = hashlib.sha256()
    head = {"kind": kind, "schema": SCHEMA, "options": options, "datasets": datasets.__version__}
    digest.update(json.dumps(head, sort_keys=True, default=str).encode())
    digest.update(source_digest().encode())
    for path in inputs:
        resolved = Path(path).expanduser().resolve()
        digest.update(f"\n{resolved}\0{path_digest(resolved)}".encode())
    return digest.hexdigest()[:32]


def example_options(
    config: TrainConfig, sources: list[str], image_root_of: Callable[[str], Path | None], **more: Any
) -> dict[str, Any]:
    """What shapes a method's examples besides its inputs' contents: part of the cache key.

    Sources and image roots are keyed as absolute paths (examples hold absolute image paths).
    """
    holdout = getattr(config, "holdout_options", None)
    return {
        "sources": [s if s == "demo" else str(Path(s).expanduser().resolve()) for s in sources],
        "image_roots": [str(Path(r).resolve()) if (r := image_root_of(s)) else None for s in sources],
        "missing_images": config.missing_images,
        "max_samples": config.max_samples,
        "holdout": dataclasses.asdict(holdout()) if holdout is not None else None,
        **more,
    }


def prepare_dataset(
    kind: str,
    rows: Rows,
    *,
    features: Any,
    options: dict[str, Any],
    inputs: Iterable[Path],
    progress: bool = True,
    cache_dir: Path | None = None,
) -> PreparedData:
    """Stream ``rows`` into a memory-mapped dataset once, or open the one an earlier run prepared.

    Args:
        kind: ``sft``, ``judge``, ``dpo``: names the folder.
        rows: Yields the rows (see :data:`Rows`); raising stops preparing and leaves nothing behind.
        features: The ``datasets.Features`` of a row.
        options: What shapes the rows besides the inputs' contents (JSON-able).
        inputs: Every file or folder the rows are read from.
        progress: Show datasets' progress bar while preparing.
        cache_dir: Where the prepared folders live (default :func:`data_cache_dir`).

    Raises:
        MMRoleError: What ``rows`` raised (a bad record, a missing image, no example at all).
    """
    key = fingerprint(kind, options, inputs)
    folder = (cache_dir if cache_dir is not None else data_cache_dir()) / f"{kind}-{key}"
    folder.parent.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock

    with _local_main_first(), FileLock(str(folder) + ".lock"):
        info = _read_info(folder, key)
        if info is not None:
            prepared = _reuse(folder, key, info, features)
            if prepared is not None:
                return prepared
        return _prepare(folder, key, rows, features, progress)


def _prepare(folder: Path, key: str, rows: Rows, features: Any, progress: bool) -> PreparedData:
    shutil.rmtree(folder, ignore_errors=True)  # what a crashed or outdated preparation left
    tally = ExampleTally()
    notes: list[list[Any]] = []

    def generate() -> Iterator[dict[str, Any]]:
        with _recorded(notes):
            yield from rows(tally)

    dataset = _from_generator(generate, folder, key, features, progress)
    info = {"key": key, "examples": tally.examples, "with_images": tally.with_images}
    write_json(folder / INFO_FILE, {**info, "missing_images": tally.missing_images, "notes": notes})
    return PreparedData(dataset, tally.examples, tally.with_images, notes, folder)


def _reuse(folder: Path, key: str, info: dict[str, Any], features: Any) -> PreparedData | None:
    """The folder's dataset with its notes said again, or None when it must be prepared again."""
    if info.get("missing_images"):
        return None

    def gone() -> Iterator[dict[str, Any]]:
        raise _Gone()  # the Arrow files were deleted: prepare again
        yield {}

    try:
        dataset = _from_generator(gone, folder, key, features, progress=False)
    except _Gone:
        return None
    except (OSError, ValueError) as err:  # an Arrow file deleted or damaged since
        logger.warning("%s: cannot open the prepared training data (%s): preparing it again", folder, err)
        return None
    if not _images_present(dataset):
        logger.warning("%s: images of the prepared training data are gone: preparing it again", folder)
        return None
    logger.info("reusing the training data prepared in %s", folder)
    for name, level, message in info["notes"]:
        logging.getLogger(name).log(level, "%s", message)
    return PreparedData(dataset, info["examples"], info["with_images"], info["notes"], folder, reused=True)


class _Gone(Exception):
    pass


def _from_generator(
    generate: Callable[[], Iterator[dict[str, Any]]], folder: Path, key: str, features: Any, progress: bool
) -> Any:
    """``Dataset.from_generator`` into ``folder``, keyed by ``key``; the generator's own error re-raised."""
    from datasets import Dataset
    from datasets.exceptions import DatasetGenerationError

    try:
        with _progress_bars(progress):
            return Dataset.from_generator(
                generate, features=features, cache_dir=str(folder / "arrow"), fingerprint=key
            )
    except DatasetGenerationError as err:
        if isinstance(err.__cause__, MMRoleError | _Gone):
            raise err.__cause__ from None
        raise


def _read_info(folder: Path, key: str) -> dict[str, Any] | None:
    try:
        info = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and info.get("key") == key and "notes" in info else None


def _images_present(dataset: Any) -> bool:
    if "images" not in dataset.column_names:
        return True
    import pyarrow.compute as pc

    paths = pc.unique(pc.list_flatten(dataset.data.column("images"))).to_pylist()
    return all(Path(path).is_file() for path in paths)


@contextlib.contextmanager
def _recorded(notes: list[list[Any]]) -> Iterator[None]:
    """Keep what mmrole's loggers warn about meanwhile, as ``[logger, level, message]``."""
    root = logging.getLogger("mmrole")
    # Without a handler of its own, logging prints warnings through its last resort: this one
    # must not take that away.
    shown = None if root.hasHandlers() else logging.lastResort

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            notes.append([record.name, record.levelno, record.getMessage()])
            if shown is not None and record.levelno >= shown.level:
                shown.handle(record)

    handler = Keep(logging.WARNING)
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


@contextlib.contextmanager
def _progress_bars(enabled: bool) -> Iterator[None]:
    import datasets

    if enabled or datasets.are_progress_bars_disabled():
        yield
        return
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        datasets.enable_progress_bars()


def _local_main_first() -> contextlib.AbstractContextManager[Any]:
    """Under a multi-process launch, the node's main process first; the others then reuse its work."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return contextlib.nullcontext()
    from accelerate import PartialState

    return PartialState().local_main_process_first()
