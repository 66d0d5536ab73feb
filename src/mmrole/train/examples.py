"""Reading training data into examples (``{"id", "messages", "images"}``) and a datasets.Dataset.

Sources for SFT (several may be given, comma-separated):

* a Qwen-VL-format JSON file (MMRole's ``data/train/train_85k.json``, RM_data) or a folder of
  them: every turn is kept, so multi-turn records train on every assistant turn;
* a samples JSONL, or an MMRole-Data root: each sample trains its reference answer;
* ``demo``: the bundled demo set's training file.

Test samples, the other turns of their dialogues and out-of-distribution characters are left out
(counted and reported) by :class:`mmrole.data.holdout.TrainingSource`, unless asked for.

Image paths are made absolute against ``--image-root`` or the folder the data engineer's
:func:`mmrole.data.image_root` finds for the source, and checked up front, so a missing image
stops the run before training starts, naming the example.

:func:`iter_examples` yields the examples one at a time (what the trainers stream into a
memory-mapped dataset, :mod:`mmrole.train.prepared`); :func:`load_examples` lists them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmrole.data import image_root, load_samples
from mmrole.data.holdout import demo_train_file
from mmrole.data.paths import resolve_under
from mmrole.data.qwen import iter_conversation_records, split_from_path, split_image_tag
from mmrole.data.sources import is_data_root
from mmrole.errors import ConfigError, DataError
from mmrole.train.formatting import conversation_example, drop_images, prompt_completion_example

if TYPE_CHECKING:
    from mmrole.data.holdout import TrainingSource

logger = logging.getLogger(__name__)

Example = dict[str, Any]
#: What to do with an example whose image file is missing.
MISSING_IMAGE_POLICIES = ("error", "skip", "drop")


def split_sources(data: str) -> list[str]:
    """``a.json,b.json`` -> ``["a.json", "b.json"]``."""
    sources = [part.strip() for part in data.split(",") if part.strip()]
    if not sources:
        raise DataError("no training data given")
    return sources


def _demo_train_file() -> Path:
    return demo_train_file()


def _is_conversation_file(path: Path) -> bool:
    return path.is_file() and path.suffix == ".json"


def conversation_files(source: str) -> list[Path] | None:
    """The Qwen-VL-format files a source names, or None when it is a samples source."""

    path = _demo_train_file() if source == "demo" else Path(source).expanduser()
    if not path.exists():
        raise DataError("training data not found", file=str(path))
    if _is_conversation_file(path):
        return [path]
    if path.is_dir() and not is_data_root(path):
        files = sorted(p for p in path.rglob("*.json") if p.is_file())
        if not files:
            raise DataError("no .json training files in this folder", file=str(path))
        return files
    return None


def source_image_root(source: str, explicit: str | None) -> Path | None:
    """The folder relative image paths of a source are resolved against."""
    if explicit:
        return Path(explicit).expanduser()

    path = _demo_train_file() if source == "demo" else Path(source).expanduser()
    root = image_root(path)
    if root is not None:
        return root
    return path if path.is_dir() else path.parent


def sft_examples(
    source: str, *, default_system: str | None = None, guard: TrainingSource | None = None
) -> Iterator[Example]:
    """The examples of one SFT source (image paths still relative), held-out ones left out by ``guard``."""
    files = conversation_files(source)
    if files is not None:
        for file in files:
            split = split_from_path(file.parent)
            for record in iter_conversation_records(file):
                if guard is None or guard.keep_record(record, split=split):
                    yield conversation_example(
                        record, file=file, default_system=default_system, split_image_tag=split_image_tag
                    )
        return

    samples = guard.samples() if guard is not None else load_samples(source)
    for sample in samples:
        if not sample.reference.strip():
            raise DataError(
                "no reference answer to train on", file=source, record=sample.id, field="reference"
            )
        yield prompt_completion_example(
            sample.id,
            system=sample.system or default_system,
            prompt=sample.instruction,
            completion=sample.reference,
            images=[sample.image] if sample.image else [],
        )


@dataclass
class ExampleTally:
    """What a pass over training data found: examples, those with images, those whose image was missing."""

    examples: int = 0
    with_images: int = 0
    missing_images: int = 0


def resolve_images(
    examples: Iterable[Example], image_root: Path | None, *, missing: str = "error", source: str = ""
) -> list[Example]:
    """Make image paths absolute and check the files exist (see :func:`iter_resolved`)."""
    return list(iter_resolved(examples, image_root, missing=missing, source=source))


def iter_resolved(
    examples: Iterable[Example],
    image_root: Path | None,
    *,
    missing: str = "error",
    source: str = "",
    tally: ExampleTally | None = None,
) -> Iterator[Example]:
    """Make image paths absolute and check the files exist, one example at a time.

    Args:
        examples: Examples with relative (or absolute) image paths.
        image_root: What relative paths are relative to.
        missing: ``error`` (stop, naming the example), ``skip`` (leave the example out) or
            ``drop`` (train it without its images).
        tally: Counts the examples whose image was missing (skipped or dropped).

    Raises:
        DataError: An image is missing and ``missing`` is ``error``, or a relative image path
            escapes ``image_root`` (``..``, or a symbolic link pointing outside it).
    """
    _check_missing_policy(missing)
    skipped, dropped = 0, 0
    for example in examples:
        paths = [_absolute(path, image_root, example["id"], source) for path in example.get("images") or []]
        absent = [path for path in paths if not path.is_file()]
        if absent:
            if missing == "error":
                raise DataError(
                    f"image not found: {absent[0]} (set --image-root, or --missing-images skip/drop)",
                    file=source or None,
                    record=example["id"],
                    field="image",
                )
            if tally is not None:
                tally.missing_images += 1
            if missing == "skip":
                skipped += 1
                continue
            dropped += 1
            example = {**example, "images": []}
            if "messages" in example:
                example["messages"] = drop_images(example["messages"])
            paths = []
        yield {**example, "images": [str(path) for path in paths]}
    if skipped or dropped:
        logger.warning(
            "%s: %d examples skipped, %d trained without their image (images not found)",
            source,
            skipped,
            dropped,
        )


def _check_missing_policy(missing: str) -> None:
    if missing not in MISSING_IMAGE_POLICIES:
        raise ConfigError(f"--missing-images must be one of {', '.join(MISSING_IMAGE_POLICIES)}")


def _absolute(path: str, root: Path | None, record: str, source: str) -> Path:
    """An image path made absolute: a relative one must stay inside ``root`` once links are followed."""
    candidate = Path(path).expanduser()
    if candidate.is_absolute() or root is None:
        return candidate

    return resolve_under(root, path, file=source or None, record=record, field="image")


def load_examples(
    data: str,
    read: Callable[[str, TrainingSource | None], Iterable[Example]],
    *,
    image_root: str | None = None,
    image_root_of: Callable[[str], Path | None] | None = None,
    missing_images: str = "error",
    max_samples: int | None = None,
    guard_of: Callable[[str], TrainingSource] | None = None,
) -> list[Example]:
    """Every example of ``data`` in a list (see :func:`iter_examples`; trainers stream them instead)."""
    return list(
        iter_examples(
            data,
            read,
            image_root=image_root,
            image_root_of=image_root_of,
            missing_images=missing_images,
            max_samples=max_samples,
            guard_of=guard_of,
        )
    )


def iter_examples(
    data: str,
    read: Callable[[str, TrainingSource | None], Iterable[Example]],
    *,
    image_root: str | None = None,
    image_root_of: Callable[[str], Path | None] | None = None,
    missing_images: str = "error",
    max_samples: int | None = None,
    guard_of: Callable[[str], TrainingSource] | None = None,
    tally: ExampleTally | None = None,
) -> Iterator[Example]:
    """Read every source with ``read``, resolve images, stop at ``max_samples``: one example at a time.

    Args:
        data: Comma-separated sources.
        read: Reads one source's examples, leaving out what its guard holds out (None without
            ``guard_of``).
        image_root: ``--image-root`` (else found per source).
        image_root_of: Finds a source's image root (default :func:`source_image_root`).
        missing_images: See :func:`iter_resolved`.
        max_samples: Keep only the first N examples.
        guard_of: The :class:`mmrole.data.holdout.TrainingSource` of a source: what training leaves
            out of it; what was left out is reported per source, once the source is read.
        tally: Counts what was read.

    Raises:
        ConfigError: A bad ``missing_images`` (at once, before anything is read).
        DataError: Bad data, a missing image, or no example at all (once every source is read).
    """
    _check_missing_policy(missing_images)
    sources = split_sources(data)
    return _examples(
        data, sources, read, image_root, image_root_of, missing_images, max_samples, guard_of, tally
    )


def _examples(
    data: str,
    sources: list[str],
    read: Callable[[str, TrainingSource | None], Iterable[Example]],
    image_root: str | None,
    image_root_of: Callable[[str], Path | None] | None,
    missing_images: str,
    max_samples: int | None,
    guard_of: Callable[[str], TrainingSource] | None,
    tally: ExampleTally | None,
) -> Iterator[Example]:
    tally = tally if tally is not None else ExampleTally()
    left_out: list[str] = []
    # Error messages name examples by id: a repeated id gets a ``#k`` suffix (only ids are kept).
    seen: dict[str, int] = {}
    for source in sources:
        root = image_root_of(source) if image_root_of else source_image_root(source, image_root)
        guard = guard_of(source) if guard_of is not None else None
        found = read(source, guard)
        if max_samples is not None:
            found = islice(found, max(0, max_samples - tally.examples))
        for example in iter_resolved(found, root, missing=missing_images, source=source, tally=tally):
            seen[example["id"]] = seen.get(example["id"], 0) + 1
            if seen[example["id"]] > 1:
                example["id"] = f"{example['id']}#{seen[example['id']] - 1}"
            tally.examples += 1
            tally.with_images += bool(example["images"])
            yield example
        if guard is not None:
            guard.report()
            if guard.summary():
                left_out.append(f"{source}: {guard.summary()}" if len(sources) > 1 else guard.summary())
        if max_samples is not None and tally.examples >= max_samples:
            break
    if not tally.examples:
        raise DataError("no training examples" + "".join(f" ({line})" for line in left_out), file=data)


def sft_row(example: Example) -> dict[str, Any]:
    """An SFT example as a dataset row: messages as JSON text (Arrow would otherwise merge the parts'
    keys across rows)."""
    return {
        "id": example["id"],
        "messages": json.dumps(example["messages"], ensure_ascii=False),
        "images": list(example.get("images") or []),
    }


def sft_features() -> Any:
    """The ``datasets.Features`` of :func:`sft_row`."""
    from datasets import Features, List, Value

    return Features({"id": Value("string"), "messages": Value("string"), "images": List(Value("string"))})


def to_dataset(examples: list[Example], *, with_images: bool) -> Any:
    """A ``datasets.Dataset`` with ``id``, ``messages`` (JSON text) and, for VLMs, ``images`` columns.

    Messages are stored as JSON text: Arrow would otherwise merge the parts' keys across rows.
    """
    from datasets import Dataset

    rows = [sft_row(example) for example in examples]
    if not with_images:
        for row in rows:
            del row["images"]
    return Dataset.from_list(rows)
