"""Samples in other tools' formats: OpenAI chat messages, VLMEvalKit messages and TSV files.

VLMEvalKit's TSV holds one row per sample with the image as base64; a row whose image repeats
an earlier row's stores that row's index instead (VLMEvalKit's own convention), which keeps
multi-turn sets, where every turn shares the image, small.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from mmrole import files
from mmrole.data.paths import UnsafePathError, is_safe_relative, resolve_under
from mmrole.errors import DataError
from mmrole.files import open_atomic
from mmrole.images import file_data_url, open_image, read_image
from mmrole.prompts.mrpa import MRPA_SYSTEM
from mmrole.schema import MissingImage, Sample

#: What a missing-image error suggests (every command that sends or embeds images takes the option).
MISSING_IMAGE_HINT = (
    " (pass --missing-image omit to go on without it, or point the command at the image folder)"
)
#: Extra columns that make a TSV convertible back to samples.
TSV_COLUMNS = (
    "index",
    "image",
    "question",
    "answer",
    "id",
    "image_path",
    "system",
    "role",
    "script",
    "other_role",
    "type",
    "split",
    "language",
)


def resolve_image(sample: Sample, image_root: str | Path | None) -> Path:
    """The image file of a sample: its path joined to the image root, as a real path.

    With an image root the path must stay inside it, as text and once symbolic links are
    followed (:func:`mmrole.data.paths.resolve_under`); without one it is used as given.

    Raises:
        UnsafePathError: The path escapes the image root (absolute, ``..``, or a link pointing out).
        DataError: The file does not exist.
    """
    if image_root is None:
        path = Path(sample.image)
    else:
        path = resolve_under(image_root, sample.image, record=sample.id, field="image")
    if not path.is_file():
        shown = Path(image_root) / sample.image if image_root is not None else path
        raise DataError(f"image file not found: {shown}", record=sample.id, field="image")
    return path


def locate_image(
    sample: Sample, image_root: str | Path | None, missing_image: MissingImage = "error"
) -> Path | None:
    """The sample's image file as :func:`to_openai_messages` shows it: None when absent and omitted.

    A stat, nothing read: callers building messages lazily check every sample with it first.

    Raises:
        UnsafePathError: The path escapes the image root (even with ``missing_image="omit"``).
        DataError: The file is absent and ``missing_image`` is ``error`` (the message says how to omit it).
    """
    try:
        return resolve_image(sample, image_root)
    except UnsafePathError:
        raise  # never silently dropped, even with missing_image="omit": a bad path, not an absent file
    except DataError as err:
        if missing_image != "omit":
            raise DataError(
                f"{err.reason}{MISSING_IMAGE_HINT}", file=err.file, record=err.record, field=err.field
            ) from None
    return None


def to_openai_messages(
    sample: Sample,
    image_root: str | Path | None,
    max_image_side: int | None = None,
    missing_image: MissingImage = "error",
) -> list[dict[str, Any]]:
    """OpenAI chat messages of a sample: the system prompt, then the image and the instruction.

    Args:
        sample: The sample.
        image_root: The folder ``sample.image`` is relative to (see :func:`mmrole.data.image_root`).
        max_image_side: Downscale the image so its longer side is at most this many pixels.
        missing_image: ``"error"`` raises DataError when the image file is missing; ``"omit"``
            sends the text alone. A path escaping the image root always raises.
    """
    content: list[dict[str, Any]] = []
    path = locate_image(sample, image_root, missing_image)
    if path is not None:
        content.append(
            {
                "type": "image_url",
                "image_url": {"url": file_data_url(path, max_image_side, record=sample.id)},
            }
        )
    content.append({"type": "text", "text": sample.instruction})
    return [{"role": "system", "content": sample.system}, {"role": "user", "content": content}]


def vlmeval_message(system: str, images: Iterable[str], instruction: str) -> list[dict[str, str]]:
    """VLMEvalKit's interleaved message of an MRPA prompt: the images, then the system prompt and the
    instruction as one text, a blank line between them.

    VLMEvalKit's messages have no system slot every model reads, so the system text leads the text;
    :mod:`mmrole.integrations.vlmeval_messages` turns mmrole's chat messages into this same layout.
    """
    text = f"{system}\n\n{instruction}" if system else instruction
    return [*({"type": "image", "value": str(path)} for path in images), {"type": "text", "value": text}]


def to_vlmeval_messages(sample: Sample, image_root: str | Path | None) -> list[dict[str, str]]:
    """VLMEvalKit's interleaved message list of a sample (:func:`vlmeval_message`)."""
    return vlmeval_message(sample.system, [str(resolve_image(sample, image_root))], sample.instruction)


def md5_file_of(tsv: str | Path) -> Path:
    """The ``NAME.tsv.md5`` file beside a TSV: its MD5 as mmrole wrote it (``md5sum -c`` reads it)."""
    tsv = Path(tsv)
    return tsv.with_name(tsv.name + ".md5")


def _write_md5(tsv: Path) -> None:
    digest = hashlib.md5(usedforsecurity=False)
    with tsv.open("rb") as handle:
        for chunk in iter(lambda: handle.read(2**20), b""):
            digest.update(chunk)
    files.write_text(md5_file_of(tsv), f"{digest.hexdigest()}  {tsv.name}\n")


def write_vlmeval_tsv(
    samples: Iterable[Sample],
    image_root: str | Path | None,
    path: str | Path,
    *,
    missing_image: MissingImage = "error",
) -> int:
    """Write samples as a VLMEvalKit TSV (index, base64 image, question, answer, and MMRole columns).

    The file is written all or nothing (a failure leaves no file behind), then its MD5 beside it
    (:func:`md5_file_of`): VLMEvalKit's ``DATASET_MD5`` of the MMRole dataset, which refuses a TSV
    changed since.

    Args:
        samples: The samples.
        image_root: The folder ``sample.image`` is relative to.
        path: The TSV file.
        missing_image: ``"error"`` stops at a missing image file; ``"omit"`` leaves that sample
            out (a VLMEvalKit row needs its image).

    Returns:
        How many rows were written.

    Raises:
        DataError: A missing image with ``missing_image="error"``, or an image path escaping the root.
    """
    csv.field_size_limit(sys.maxsize)
    first_row_of: dict[str, int] = {}
    count = 0
    with open_atomic(path, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=TSV_COLUMNS, delimiter="\t")
        writer.writeheader()
        for sample in samples:
            try:
                image_file = resolve_image(sample, image_root)
            except UnsafePathError:
                raise  # a path out of the image root is never just left out
            except DataError as err:
                if missing_image == "omit":
                    continue
                raise DataError(
                    f"{err.reason}{MISSING_IMAGE_HINT}", record=err.record, field=err.field
                ) from None
            index = count
            if sample.image in first_row_of:
                image_cell = str(first_row_of[sample.image])
            else:
                first_row_of[sample.image] = index
                _, data = read_image(image_file, record=sample.id)
                image_cell = base64.b64encode(data).decode("ascii")
            writer.writerow(
                {
                    "index": index,
                    "image": image_cell,
                    "question": sample.instruction,
                    "answer": sample.reference,
                    "id": sample.id,
                    "image_path": sample.image,
                    "system": sample.system,
                    "role": sample.role,
                    "script": sample.script,
                    "other_role": sample.other_role,
                    "type": sample.type,
                    "split": sample.split,
                    "language": sample.language,
                }
            )
            count += 1
    _write_md5(Path(path))
    return count


def read_vlmeval_tsv(path: str | Path, image_dir: str | Path) -> Iterator[Sample]:
    """Read a VLMEvalKit TSV back into samples, writing its images into ``image_dir``.

    Sample images are relative to ``image_dir``: the ``image_path`` column when it is a safe
    relative path, else a name made of the image bytes' hash.

    Raises:
        DataError: A required column is missing or an image cell is not valid base64.
    """
    from pydantic import ValidationError

    csv.field_size_limit(sys.maxsize)
    path, image_dir = Path(path), Path(image_dir)
    images_by_index: dict[str, bytes] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = {"index", "image", "question"} - set(reader.fieldnames or ())
        if missing:
            raise DataError(f"missing column(s) {sorted(missing)}", file=str(path))
        for line, row in enumerate(reader, start=2):
            index, cell = row["index"], row["image"]
            record = row.get("id") or index
            try:
                # VLMEvalKit's convention: a short cell is the index of the row holding the image.
                data = images_by_index[cell] if len(cell) <= 64 else base64.b64decode(cell, validate=True)
            except KeyError:
                raise DataError(
                    f"line {line}: image refers to unknown row {cell!r}", file=str(path), record=record
                ) from None
            except ValueError:
                raise DataError(
                    f"line {line}: image is not base64", file=str(path), record=record, field="image"
                ) from None
            images_by_index[index] = data
            name = row.get("image_path") or ""
            if not is_safe_relative(name):
                image = open_image(data, decode=False, file=str(path), record=record, field="image")
                suffix = (image.format or "png").lower().replace("jpeg", "jpg")
                name = f"{hashlib.sha1(data).hexdigest()[:16]}.{suffix}"
            # A folder of image_dir linking elsewhere must not receive the file.
            target = resolve_under(image_dir, name, file=str(path), record=record, field="image_path")
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            try:
                # The row's text comes from the file: pydantic checks type, split and language.
                sample = Sample.model_validate(
                    {
                        "id": record,
                        "image": name,
                        "system": row.get("system") or MRPA_SYSTEM,
                        "instruction": row["question"],
                        "reference": row.get("answer") or "",
                        "role": row.get("role") or "",
                        "script": row.get("script") or "",
                        "other_role": row.get("other_role") or "",
                        "type": row.get("type") or "human-role",
                        "split": row.get("split") or "in-distribution",
                        "language": row.get("language") or "English",
                    }
                )
            except ValidationError as err:
                first = err.errors()[0]
                field = ".".join(str(p) for p in first["loc"])
                raise DataError(
                    f"line {line}: {first['msg']}", file=str(path), record=record, field=field
                ) from None
            yield sample
