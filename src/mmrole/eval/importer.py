"""Import MMRole's released files as run folders.

MMRole publishes, for each evaluated MRPA, three test files (``comment_test``,
``human-role_test``, ``inter-role_test``) in Qwen-VL conversation format whose reply
turn carries the MRPA's ``answer`` and, in ``*_test.reviews.json``, the reward model's
``rm_review`` (``{metric: {"review", "score": [a, b]}}``). An answers file becomes a run
ready for ``mmrole judge``; a reviews file becomes a judged run with ``results.json``.
Samples without a review (MMRole skips empty answers) stay in the run as *missing*.

The split of a file comes from its folders: the release's ``in-test/<model>/`` and MMRole's
repository's ``eval/in-test_reviews/<model>/``, ``eval/out-test_answers/<model>/`` (see
:func:`mmrole.data.qwen.split_folder`). :func:`import_published` takes either layout's root
and gives each model one run holding both splits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmrole.data.jsonio import iter_json_array
from mmrole.data.qwen import sample_from_qwen, split_folder, split_from_path, type_from_name
from mmrole.errors import DataError
from mmrole.eval import results as run_results
from mmrole.eval.parse import MMROLE_SCALE, usable_pair
from mmrole.runs import AnswerRecord, ReviewRecord, RunFolder, StageInputs
from mmrole.schema import METRICS, SPLITS, Sample, Split

#: The paper's names of the 11 MRPAs whose reviews MMRole released, by release folder name.
PUBLISHED_NAMES: dict[str, str] = {
    "gpt-4-turbo": "GPT-4 Turbo",
    "claude-3-opus": "Claude 3 Opus",
    "gemini-pro-vision": "Gemini Pro Vision",
    "qwen-vl-max": "QWen-VL-Max",
    "llava-next-yi-34b": "LLaVA-NeXT-34B",
    "yi-vl-34b": "Yi-VL-34B",
    "internvl-chat-v1-5": "InternVL-Chat-V1.5",
    "qwen-vl-chat": "QWen-VL-Chat",
    "llava-next-mistral-7b": "LLaVA-NeXT-Mistral-7B",
    "yi-vl-6b": "Yi-VL-6B",
    "mmrole-agent": "MMRole-Agent",
}

#: What the judge of imported reviews was.
RELEASED_JUDGE = "MMRole-Eval_RM (released reviews)"


@dataclass
class ImportSummary:
    """What an import wrote.

    Attributes:
        run_dir: The run folder.
        files: The released files read.
        n_samples: Samples imported.
        n_answers: Samples with a non-empty MRPA answer.
        n_reviews: (sample, metric) reviews imported (0 for answers files).
        splits: Samples per split, in :data:`~mmrole.schema.SPLITS` order.
        unsplit_files: Files whose path names no split (no ``in-test``/``out-test`` folder)
            and no split was forced: their samples were imported as in-distribution.
        n_invalid: Reviews whose released score is no usable pair (non-finite, off MMRole's
            1-10 scale and not 0, or a reference score of 0): imported as failed, never averaged.
        judged: Whether the run has reviews (and so ``results.json``).
    """

    run_dir: Path
    files: list[Path] = field(default_factory=list)
    n_samples: int = 0
    n_answers: int = 0
    n_reviews: int = 0
    splits: dict[str, int] = field(default_factory=dict)
    unsplit_files: list[Path] = field(default_factory=list)
    n_invalid: int = 0

    @property
    def judged(self) -> bool:
        return self.n_reviews > 0


def released_files(path: str | Path) -> list[Path]:
    """The released test files at ``path``: the file itself, or the ``<type>_test*.json`` files of a folder.

    In a folder holding both ``comment_test.json`` and ``comment_test.reviews.json``, the
    reviews file wins (it holds the answers too).

    Raises:
        DataError: Nothing importable is there.
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataError("no such file or folder", file=str(path))
    by_type: dict[str, list[Path]] = {}
    for candidate in sorted(path.glob("*_test*.json")):
        kind = type_from_name(candidate.name)
        if kind is not None:
            by_type.setdefault(kind, []).append(candidate)
    chosen = []
    for _kind, candidates in sorted(by_type.items()):
        reviews = [c for c in candidates if c.name.endswith(".reviews.json")]
        chosen.append((reviews or candidates)[0])
    if not chosen:
        hint = ""
        if any(split_folder(child.name) for child in path.iterdir() if child.is_dir()):
            hint = " (it holds split folders: import them all with --published)"
        raise DataError(f"no MMRole test files (<type>_test*.json) in this folder{hint}", file=str(path))
    return chosen


def _answer_of(record: dict[str, Any], file: Path, sample_id: str) -> str:
    reply = record["conversations"][1]
    answer = reply.get("answer") if isinstance(reply, dict) else None
    if answer is None:
        raise DataError(
            "no MRPA answer: an MMRole answers or reviews file is needed (plain test files are data, "
            "use `mmrole answer`)",
            file=str(file),
            record=sample_id,
            field="conversations[1].answer",
        )
    if not isinstance(answer, str):
        raise DataError(
            "the answer must be text", file=str(file), record=sample_id, field="conversations[1].answer"
        )
    return answer


def _reviews_of(record: dict[str, Any], file: Path, sample_id: str) -> list[ReviewRecord]:
    reviews = record.get("rm_review")
    if reviews is None:
        return []
    if not isinstance(reviews, dict):
        raise DataError("rm_review must be an object", file=str(file), record=sample_id, field="rm_review")
    lines = []
    for metric, review in reviews.items():
        where = f"rm_review[{metric!r}]"
        if metric not in METRICS:
            raise DataError(
                f"unknown metric (expected one of {', '.join(METRICS)})",
                file=str(file),
                record=sample_id,
                field=where,
            )
        score = review.get("score") if isinstance(review, dict) else None
        if not (
            isinstance(score, list) and len(score) == 2 and all(isinstance(x, (int, float)) for x in score)
        ):
            raise DataError(
                "score must be a pair of numbers", file=str(file), record=sample_id, field=f"{where}.score"
            )
        pair: tuple[float, float] | None = (float(score[0]), float(score[1]))
        error = None
        # The released judge wrote 0 sixteen times (for Yi-VL-6B) and MMRole's numbers count it: kept.
        if not usable_pair(float(score[0]), float(score[1]), MMROLE_SCALE, zero_ok=True):
            # A failed judgement naming the released value (as text: JSON has no Infinity).
            error = f"invalid released score {score!r}: not two finite numbers 0 or 1-10 with B > 0"
            pair = None
        lines.append(
            run_results.review_record(
                sample_id=sample_id,
                metric=metric,
                text=str(review.get("review", "")),
                score=pair,
                error=error,
                source="mmrole-release",
            )
        )
    return lines


def read_released(
    files: Iterable[Path], *, split: Split | None = None
) -> tuple[list[Sample], list[AnswerRecord], list[ReviewRecord]]:
    """Samples, answers records and review records of released files.

    Args:
        files: Released test files.
        split: Force the split; by default a folder named ``in-test`` / ``out-test``
            (or in/out-of-distribution) says, else in-distribution.
    """
    samples: list[Sample] = []
    answers: list[AnswerRecord] = []
    reviews: list[ReviewRecord] = []
    seen: set[str] = set()
    for file in files:
        file_split = split or split_from_path(file.parent)
        named_type = type_from_name(file.name)
        for index, record in enumerate(iter_json_array(file)):
            if not isinstance(record, dict):
                raise DataError("a record must be a JSON object", file=str(file), record=f"#{index}")
            sample = sample_from_qwen(record, file=file, split=file_split, dialogue_type=named_type)
            if sample.id in seen:
                raise DataError("duplicate sample id", file=str(file), record=sample.id, field="id")
            seen.add(sample.id)
            answer = _answer_of(record, file, sample.id)
            samples.append(sample)
            answers.append({"id": sample.id, "answer": answer, "error": None, "meta": {"source": str(file)}})
            reviews.extend(_reviews_of(record, file, sample.id))
    return samples, answers, reviews


def import_released(
    path: str | Path | Sequence[Path],
    *,
    name: str,
    run_dir: str | Path,
    split: Split | None = None,
    image_root: str | Path | None = None,
    overwrite: bool = False,
) -> ImportSummary:
    """Import one MRPA's released answers or reviews file(s) as a run folder.

    Args:
        path: A released file, a folder of them, or a list of files.
        name: The display name of the run (leaderboards show it).
        run_dir: The run folder to create.
        split: Force the split of every sample (default: from the folder name).
        image_root: Where the samples' images are, if you have them (MMRole's images are
            not part of the release); judging without them needs ``--missing-image omit``.
        overwrite: Replace an existing run folder's files.

    Raises:
        DataError: Bad or unimportable files (file, record and field named), or the run
            folder already holds a run and ``overwrite`` is not set.
    """
    files = released_files(path) if isinstance(path, (str, Path)) else list(path)
    run_dir = Path(run_dir)
    folder = RunFolder(run_dir)
    with folder.lock():
        if folder.holds_run() and not overwrite:
            raise DataError("already holds a run (use --overwrite to replace it)", file=str(run_dir))
        samples, answers, reviews = read_released(files, split=split)
        sources = [str(f) for f in files]
        info: dict[str, Any] = {
            "name": name,
            "agent": f"imported:{name}",
            "data": {"source": sources, "image_root": str(image_root) if image_root else None},
            "imported_from": sources,
        }
        # Always afresh: an overwritten judged run must not keep the old judgements.
        run_results.write_run(
            folder,
            samples,
            answers,
            inputs=StageInputs(info["agent"], data=sources),
            summary=info,
            overwrite=True,
            reviews=reviews or None,
            judge_inputs=StageInputs(RELEASED_JUDGE),
            judge_summary={"judge": RELEASED_JUDGE},
        )
    counts = {s: sum(1 for sample in samples if sample.split == s) for s in SPLITS}
    return ImportSummary(
        run_dir=run_dir,
        files=files,
        n_samples=len(samples),
        n_answers=sum(1 for a in answers if (a["answer"] or "").strip()),
        n_reviews=len(reviews),
        splits={s: n for s, n in counts.items() if n},
        unsplit_files=[] if split else [f for f in files if split_from_path(f.parent) is None],
        n_invalid=sum(1 for r in reviews if r["error"]),
    )


#: Which folder of a split a model's files come from when several have them: reviews (they
#: hold the answers too), the release's plain split folder, then answers only (``*_results/``
#: folders hold CSVs and are not read).
_VARIANTS = ("reviews", "", "answers")


def _split_folders(root: Path) -> list[list[Path]]:
    """The split folders of a release root, one list per split (best variant first); [] if none."""
    by_split: dict[str, list[tuple[int, Path]]] = {}
    for child in sorted(p for p in root.iterdir() if p.is_dir()):
        named = split_folder(child.name)
        if named is not None and named[1] in _VARIANTS:
            by_split.setdefault(named[0], []).append((_VARIANTS.index(named[1]), child))
    return [[folder for _, folder in sorted(by_split[s])] for s in SPLITS if s in by_split]


def published_models(root: str | Path) -> dict[str, list[Path]]:
    """The released files of each MRPA under ``root``, by release folder name.

    ``root`` is a folder of model folders (``in-test/``, ``eval/out-test_reviews/``), or a
    folder of split folders: the release's ``in-test/`` and ``out-test/``, or MMRole's
    repository's ``eval/`` with ``in-test_answers/``, ``in-test_reviews/``, ``out-test_...``.
    Each model then gets the files of every split, from the split's reviews folder when it
    has the model there, else from its answers folder.

    Raises:
        DataError: No model folder with test files.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError("no such folder", file=str(root))
    models: dict[str, list[Path]] = {}
    for candidates in _split_folders(root) or [[root]]:
        found: dict[str, list[Path]] = {}
        for split_dir in candidates:
            for model_dir in sorted(p for p in split_dir.iterdir() if p.is_dir()):
                if model_dir.name in found:
                    continue
                try:
                    found[model_dir.name] = released_files(model_dir)
                except DataError:
                    continue  # a folder without test files is not a model
        for model, files in found.items():
            models.setdefault(model, []).extend(files)
    if not models:
        raise DataError("no model folders with MMRole test files", file=str(root))
    return models


def import_published(
    root: str | Path, *, out_dir: str | Path, overwrite: bool = False
) -> list[ImportSummary]:
    """Import every MRPA of MMRole's release under ``root`` into ``out_dir/<model>``, with the paper's names.

    ``root`` is laid out as :func:`published_models` describes; a model with files in both
    splits gets one run holding both.
    """
    out_dir = Path(out_dir)
    summaries = []
    for folder, files in published_models(root).items():
        summaries.append(
            import_released(
                files, name=PUBLISHED_NAMES.get(folder, folder), run_dir=out_dir / folder, overwrite=overwrite
            )
        )
    return summaries
