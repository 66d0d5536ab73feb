"""The sample browser's data: compact script files in ``report_files/`` beside ``report.html``.

Embedding every sample of every run made an 11-run page 13 MB, and its writer held all of it
in memory. Instead the page carries only the tables and the chart, and the browser's data
goes into one file for the samples (question, reference, image thumbnail) and one file per
run (answers, per-metric scores, judge reviews). The page loads a run's file when the user
opens that run, with an injected ``<script>`` tag: each file assigns its data to a global
(``window.MMROLE_REPORT[key] = {...}``), which works from ``file://`` too, where ``fetch()``
of a JSON file is refused. Nothing goes to the network.

Each file is written as a stream, one record per JSONL line read, so writing a report holds
one run's score pairs at most, never the samples, answers or reviews of all runs. Files are
named after their content's hash (``run-3-1a2b3c4d5e.js``) and written before the page: a
crash leaves the previous page with its own files, never a page pointing at half-written
ones. Files of earlier reports are removed once the new page is in place.

Data layout (column names travel in each file, so the page reads records by name):

* ``samples``: ``columns`` and ``rows``, one row per sample of any run (first run first).
  ``thumb`` numbers the sample's image (each image once, as a 256 px JPEG data URL in
  ``thumb_src`` of the first row showing it), or is a note saying why there is no image.
* ``run-N``: ``columns``, ``sample_ids`` (the run's samples), ``answers`` rows (text, or why there is
  none), ``reviews`` rows (file order, with each review's own ratio) and ``ratios``: per
  sample, the score per metric as the aggregation computes it (None: not judged;
  ``"failed"``: judged, no usable score).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from mmrole.data.convert import resolve_image
from mmrole.errors import DataError
from mmrole.eval.aggregate import Judgement, combine
from mmrole.eval.report.data import RunData
from mmrole.images import encode_data_url, image_errors, open_image
from mmrole.runs import REPORT_DATA
from mmrole.schema import DIALOGUE_TYPES, METRICS, SPLITS, Review, Sample

#: The folder beside the page, and the global the data files assign to.
FILES_DIR = REPORT_DATA
DATA_GLOBAL = "MMROLE_REPORT"
SAMPLES_KEY = "samples"
THUMBNAIL_PX = 256
THUMBNAIL_QUALITY = 70

SAMPLE_COLUMNS = (
    "id", "type", "split", "role", "other_role", "language", "image", "system", "instruction", "reference",
    "thumb", "thumb_src",
)  # fmt: skip
ANSWER_COLUMNS = ("id", "answer", "failure")
REVIEW_COLUMNS = ("id", "metric", "a", "b", "order", "repeat", "text", "error", "ratio")


@dataclass
class BrowserFiles:
    """What the page needs to know about the data files it loads.

    Attributes:
        samples_file: The samples file, relative to the page (None: no run has samples).
        run_files: One file per run, in run order, relative to the page.
        n_samples: Samples of any run.
        types, splits, roles: The dialogue types, splits and characters present, for the filters.
    """

    samples_file: str | None = None
    run_files: list[str] = field(default_factory=list)
    n_samples: int = 0
    types: list[str] = field(default_factory=list)
    splits: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)

    @property
    def written(self) -> set[str]:
        return {name for name in (self.samples_file, *self.run_files) if name}


def sample_ratio(reviews: Sequence[Review]) -> float | None:
    """A sample's score on one metric from its reviews, exactly as the aggregation computes it.

    Reviews may come in both orders (``order`` ``AB``/``BA``) and several repeats; None
    when an order that was asked has no scored review.
    """
    return combine([_judgement(r) for r in reviews])


def _judgement(review: Review) -> Judgement:
    return Judgement(
        review.sample_id, review.metric, review.score, str(getattr(review, "order", None) or "AB")
    )


class _DataScript:
    """One data file, written as a stream to a temporary name and renamed after its hash.

    with _DataScript(folder, "run-1") as script:
        script.write('{"columns": ["id"]')
        script.write_array("answers", rows)
    script.name  # run-1-1a2b3c4d5e.js
    """

    def __init__(self, folder: Path, key: str):
        self.folder, self.key, self.name = folder, key, ""
        self._tmp = folder / f".{key}.partial"
        self._digest = hashlib.sha256()
        self._handle: TextIO | None = None

    def __enter__(self) -> _DataScript:
        self._handle = self._tmp.open("w", encoding="utf-8")
        self.write(f'(window.{DATA_GLOBAL} = window.{DATA_GLOBAL} || {{}})["{self.key}"] = ')
        return self

    def write(self, text: str) -> None:
        assert self._handle is not None
        self._digest.update(text.encode("utf-8"))
        self._handle.write(text)

    def write_array(self, name: str, rows: Iterable[Any]) -> None:
        """``,"name": [row, row, ...]``: a further member of the file's object, one row at a time."""
        self.write(f",\n{_json(name)}: [")
        for index, row in enumerate(rows):
            self.write(("\n" if index == 0 else ",\n") + _json(row))
        self.write("]")

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        assert self._handle is not None
        if error is not None:  # a malformed line: no file, not half of one
            self._handle.close()
            self._tmp.unlink(missing_ok=True)
            return
        self.write("};\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        self.name = f"{self.key}-{self._digest.hexdigest()[:10]}.js"
        os.replace(self._tmp, self.folder / self.name)


def _json(value: Any) -> str:
    # U+2028/2029 end a line in older JavaScript parsers even inside strings.
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


class Thumbnails:
    """Each image once, as a small JPEG data URL, numbered in the order first seen.

    Only the path -> number index is kept: each URL is written out when first met.
    """

    def __init__(self, max_px: int = THUMBNAIL_PX):
        self.max_px = max_px
        self._index: dict[Path, int | str] = {}
        self._count = 0

    def lookup(self, sample: Sample, roots: Sequence[Path | None]) -> tuple[int | str, str | None]:
        """``(thumbnail number or a note saying why there is none, the URL when it is new)``."""

        known: list[Path | None] = [root for root in roots if root is not None]
        if not known and not Path(sample.image).is_absolute():
            return f"image not embedded: run.json gives no image root for {sample.image}", None
        reasons = []
        for root in known or [None]:
            try:
                path = resolve_image(sample, root)
            except DataError as err:
                reasons.append(err.reason)
                continue
            if path in self._index:
                return self._index[path], None
            url = self._encode(path)
            if not url.startswith("data:"):
                self._index[path] = url  # unreadable: the note, for every sample showing it
                return url, None
            self._index[path] = self._count
            self._count += 1
            return self._index[path], url
        return reasons[0], None

    def _encode(self, path: Path) -> str:
        try:
            data = path.read_bytes()
            with image_errors(file=str(path)):
                img = open_image(data, decode=False, file=str(path))
                img.thumbnail((self.max_px, self.max_px))
                buffer = io.BytesIO()
                img.convert("RGB").save(buffer, format="JPEG", quality=THUMBNAIL_QUALITY, optimize=True)
        except OSError as err:
            return f"image unreadable: {path} ({err.strerror or err})"
        except DataError as err:
            return f"image unreadable: {path} ({err.reason})"
        return encode_data_url("image/jpeg", buffer.getvalue())


def _write_samples(folder: Path, runs: Sequence[RunData], files: BrowserFiles) -> None:
    """The samples file: every sample of any run once, streamed run by run."""
    roots = [run.info.image_root for run in runs]
    thumbnails, seen = Thumbnails(), set()
    types: set[str] = set()
    splits: set[str] = set()
    roles: set[str] = set()

    def rows() -> Iterable[list[Any]]:
        for run in runs:
            for sample in run.records.samples():
                if sample.id in seen:
                    continue
                seen.add(sample.id)
                thumb, url = thumbnails.lookup(sample, roots)
                types.add(sample.type)
                splits.add(sample.split)
                roles.add(sample.role)
                # A thumbnail's URL comes with the first sample showing it, so none is held back.
                yield [*(getattr(sample, column) for column in SAMPLE_COLUMNS[:-2]), thumb, url]

    with _DataScript(folder, SAMPLES_KEY) as script:
        script.write(f'{{"columns": {_json(SAMPLE_COLUMNS)}')
        script.write_array("rows", rows())
    files.samples_file = f"{FILES_DIR}/{script.name}"
    files.n_samples = len(seen)
    files.types = [t for t in DIALOGUE_TYPES if t in types] + sorted(types - set(DIALOGUE_TYPES))
    files.splits = [s for s in SPLITS if s in splits] + sorted(splits - set(SPLITS))
    files.roles = sorted(roles)


def _answer_rows(run: RunData) -> Iterable[list[Any]]:
    for answer in run.iter_answers():
        if answer.failed:
            yield [answer.id, None, answer.error or "empty answer"]
        else:
            yield [answer.id, answer.answer, None]


def run_key(index: int) -> str:
    """The key (and file name stem) of the run at ``index``: ``run-1`` for the first."""
    return f"run-{index + 1}"


def _write_run(folder: Path, index: int, run: RunData) -> str:
    """One run's file: its sample ids, answers, reviews (streamed) and per-metric scores."""
    # The score pairs (a few numbers per review) are the only thing held, to compute each score.
    judgements: dict[str, dict[str, list[Judgement]]] = {}

    def review_rows() -> Iterable[list[Any]]:
        for review in run.iter_reviews():
            judgement = _judgement(review)
            judgements.setdefault(review.sample_id, {}).setdefault(review.metric, []).append(judgement)
            a, b = review.score if review.score is not None else (None, None)
            extra = [getattr(review, "order", None), getattr(review, "repeat", None)]
            yield [
                review.sample_id,
                review.metric,
                a,
                b,
                *extra,
                review.text,
                review.error,
                _round(sample_ratio([review])),
            ]

    with _DataScript(folder, run_key(index)) as script:
        script.write(f'{{"columns": {_json({"answers": ANSWER_COLUMNS, "reviews": REVIEW_COLUMNS})}')
        script.write_array("sample_ids", run.sample_ids)
        script.write_array("answers", _answer_rows(run))
        script.write_array("reviews", review_rows())
        script.write(',\n"ratios": {')
        for number, (sample_id, by_metric) in enumerate(judgements.items()):
            ratios = [_ratio(by_metric.get(metric)) for metric in METRICS]
            script.write(("\n" if number == 0 else ",\n") + f"{_json(sample_id)}: {_json(ratios)}")
        script.write("}")
    return f"{FILES_DIR}/{script.name}"


def _ratio(judgements: list[Judgement] | None) -> float | str | None:
    if not judgements:
        return None  # not judged
    ratio = combine(judgements)
    return "failed" if ratio is None else _round(ratio)


def _round(ratio: float | None) -> float | None:
    # Six decimals: the page shows three, and the files stay compact.
    return None if ratio is None else round(ratio, 6)


def write_browser_files(runs: Sequence[RunData], out_dir: Path) -> BrowserFiles:
    """Write ``report_files/`` for these runs (the samples file, then one file per run).

    Returns:
        The files' names relative to ``out_dir`` and what the filters offer.

    Raises:
        DataError: A samples, answers or reviews line is malformed (file, record and field named).
    """
    folder = out_dir / FILES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    files = BrowserFiles()
    if not any(run.sample_ids for run in runs):
        return files
    _write_samples(folder, runs, files)
    files.run_files = [_write_run(folder, index, run) for index, run in enumerate(runs)]
    return files


def remove_stale_files(out_dir: Path, keep: BrowserFiles) -> None:
    """Remove data files of earlier reports (only the names this module writes)."""
    folder = out_dir / FILES_DIR
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        ours = path.suffix == ".js" and (path.name.startswith(("samples-", "run-")))
        if (ours or path.name.endswith(".partial")) and f"{FILES_DIR}/{path.name}" not in keep.written:
            path.unlink(missing_ok=True)
