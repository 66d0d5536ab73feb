"""The run folder: its files, what produced each of them, and who is using it.

    RUN/
      run.json        what produced each file: per stage the spec, data and options, and digests
      store.sqlite    the engine's request store, which every derived file is rebuilt from
      samples.jsonl   the samples of the run (answer stage)
      answers.jsonl   {"id", "answer", "error", "meta"} per sample (answer stage)
      reviews.jsonl   one judgement per line (judging stage)
      results.json    the aggregated MMRole-Eval results (judging stage)
      report.md, report.csv, report.html, radar.png   (when a report was written into the folder)
      report_files/   the HTML report's sample browser data, one file per run
      .lock           the pid of the process using the folder

Consistent by construction. A stage (``answer``, then ``judging``) first records in run.json
its inputs and ``"state": "running"``, then writes its files atomically from the store, then
commits ``"state": "done"`` with the SHA-256 of each file. A kill at any point leaves either
the last commit or a running stage, which every reader refuses (a running answer stage may lag
the store). Readers check each file against its digest and the judging stage against the
answers it judged, so a derived file never silently disagrees with what run.json says made it.
Starting a stage afresh (other inputs, or ``overwrite``) deletes its files and everything
downstream before recording the new inputs; answers that changed drop the judging downstream.

Folders written before this layout (run.json without ``layout``) are read as they are.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, cast

from mmrole import __version__, files
from mmrole.data import read_samples_jsonl
from mmrole.data.jsonio import iter_jsonl
from mmrole.errors import ConfigError, DataError
from mmrole.run_files import RunFiles
from mmrole.run_lock import remember_info
from mmrole.run_records import (
    ANSWER,
    ANSWERS,
    DONE,
    JUDGING,
    LAYOUT,
    LOCK,
    REPORT_DATA,
    REPORT_FILES,
    RESULTS,
    REVIEWS,
    RUN_INFO,
    RUNNING,
    SAMPLES,
    STORE,
    AnswerRecord,
    ReviewRecord,
    StageInputs,
    data_source,
    is_legacy,
    now,
    without_secrets,
)
from mmrole.schema import Sample

__all__ = [
    "ANSWERS",
    "LAYOUT",
    "LOCK",
    "REPORT_DATA",
    "REPORT_FILES",
    "RESULTS",
    "REVIEWS",
    "RUN_INFO",
    "SAMPLES",
    "STORE",
    "AnswerRecord",
    "ReviewRecord",
    "RunFolder",
    "StageInputs",
    "data_source",
    "read_run_info",
    "update_run_info",
    "without_secrets",
]


#: run.json's top-level summary of what ran (the stage records hold the detail).
_SUMMARY_KEYS = ("name", "agent", "data", "judge", "judge_options")


class RunFolder(RunFiles):
    """Typed readers and writers of one run folder (see the module docstring).

    Args:
        path: The folder (need not exist yet).
    """

    def update_info(self, updates: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``updates`` into run.json (top-level keys replaced); returns the new content.

        Adds ``mmrole_version``, ``created`` (first write) and ``updated``; drops any option
        whose name looks like a credential.
        """
        info = self.info()
        info.update(updates)
        return self._write_info(info)

    def begin_answer(
        self,
        inputs: StageInputs,
        samples: Iterable[Sample],
        *,
        overwrite: bool = False,
        summary: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        """Record that answering starts with ``inputs`` and write ``samples.jsonl``.

        Args:
            inputs: The agent spec, the data source and the options that change answers.
            samples: The run's samples.
            overwrite: Start afresh even when the folder was answered with other inputs.
            summary: Top-level run.json keys to set (``agent``, ``data``, ``name``...).
            options: Every option of the run, recorded for the reader (not compared).

        Raises:
            ConfigError: The folder holds answers made with other inputs and ``overwrite`` is not set.
        """
        info = self._adopted(self.info())
        stage = info.get(ANSWER)
        if not isinstance(stage, dict):
            stage = {}
        if overwrite or self._starts_afresh(stage, inputs, ANSWERS, "answered", "start answering afresh"):
            self._delete(ANSWERS)
            self._drop_judging(info)
        info[ANSWER] = {
            "inputs": inputs.to_dict(),
            "state": RUNNING,
            "started": now(),
            "options": dict(options or {}),
        }
        info.update(summary or {})
        self._write_info(info)
        files.write_text(self.file(SAMPLES), (sample.model_dump_json() + "\n" for sample in samples))

    def finish_answer(
        self, answers: Iterable[AnswerRecord], *, counts: Mapping[str, Any] | None = None
    ) -> None:
        """Write ``answers.jsonl`` and commit the answer stage (dropping judgements of other answers)."""
        files.write_jsonl(self.file(ANSWERS), answers)
        info = self.info()
        digests = {
            SAMPLES: files.file_digest(self.file(SAMPLES)),
            ANSWERS: files.file_digest(self.file(ANSWERS)),
        }
        judged = self._judged_digest()
        judging = info.get(JUDGING)
        if isinstance(judging, dict) and judging.get("answers") != judged:
            self._drop_judging(info)
        info[ANSWER].update(
            state=DONE, finished=now(), counts=dict(counts or {}), files=digests, judged=judged
        )
        self._write_info(info)

    def begin_judging(
        self,
        inputs: StageInputs,
        *,
        overwrite: bool = False,
        summary: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        """Record that judging starts with ``inputs`` (the answers must be complete and unchanged).

        Raises:
            DataError: Answering did not finish, or its files do not match run.json.
            ConfigError: The folder was judged with other inputs and ``overwrite`` is not set.
        """
        info = self._adopted(self.info())
        self._check_answer(info)
        stage = info.get(JUDGING)
        if not isinstance(stage, dict):
            stage = {}
        if overwrite or self._starts_afresh(stage, inputs, REVIEWS, "judged", "judge afresh"):
            self._drop_judging(info)
        info[JUDGING] = {
            "inputs": inputs.to_dict(),
            "answers": info[ANSWER]["judged"],
            "state": RUNNING,
            "started": now(),
            "options": dict(options or {}),
        }
        info.update(summary or {})
        self._write_info(info)

    def finish_judging(
        self,
        reviews: Iterable[ReviewRecord],
        results: dict[str, Any],
        *,
        counts: Mapping[str, Any] | None = None,
        write_reports: Callable[[dict[str, Any], dict[str, Any], dict[str, Path]], object] | None = None,
    ) -> dict[str, Any]:
        """Write ``reviews.jsonl``, ``results.json`` and the folder's reports, then commit the stage.

        Args:
            reviews: Every judgement.
            results: The aggregated results; their ``run`` section gets the digests they come from.
            counts: What the judging did, for run.json.
            write_reports: ``(run.json content, results, paths)`` -> writes the reports, called when the
                folder has reports (they are rewritten with the results, never left stale).

        Returns:
            The results as written.
        """
        info = self.info()
        stage = info[JUDGING]
        files.write_jsonl(self.file(REVIEWS), reviews)
        run = dict(results.get("run") or {})
        run.update(answers_sha256=stage["answers"], reviews_sha256=files.file_digest(self.file(REVIEWS)))
        results = {**results, "run": run}
        files.write_json(self.file(RESULTS), results)
        stage.update(
            state=DONE,
            finished=now(),
            counts=dict(counts or {}),
            files={name: files.file_digest(self.file(name)) for name in (REVIEWS, RESULTS)},
        )
        if isinstance(info.get("reports"), dict) and write_reports is not None:
            write_reports(info, results, self.report_paths())
            info["reports"] = self._reports_record()
        self._write_info(info)
        return results

    def begin_reports(self) -> None:
        """Record that reports are written into this folder (from now on judging rewrites them)."""
        self.results()  # only reports of valid results
        self.update_info({"reports": {"results": None, "files": {}}})

    def finish_reports(self) -> None:
        """Commit the reports just written into this folder."""
        self.update_info({"reports": self._reports_record()})

    def samples(self) -> list[Sample]:
        """The samples of the run (see :meth:`iter_samples`)."""
        return list(self.iter_samples())

    def iter_samples(self) -> Iterator[Sample]:
        """The samples of the run, streamed (checked against run.json first).

        Raises:
            DataError: Not a run folder, answering did not finish, or samples.jsonl does not
                match run.json; a line is not a sample.
        """
        self._check_answer(self.info())

        return read_samples_jsonl(self.file(SAMPLES))

    def answers(self) -> dict[str, AnswerRecord]:
        """``answers.jsonl`` by sample id (empty for an older folder without one).

        Raises:
            DataError: As :meth:`samples`, for answers.jsonl.
        """
        return {str(a.get("id")): a for a in self.iter_answers()}

    def iter_answers(self) -> Iterator[AnswerRecord]:
        """``answers.jsonl`` streamed in file order (see :meth:`answers`; a later line for the same
        sample replaces an earlier one)."""
        info = self.info()
        self._check_answer(info)
        path = self.file(ANSWERS)
        if is_legacy(info) and not path.exists():
            return iter(())
        return cast("Iterator[AnswerRecord]", _iter_jsonl(path))

    def reviews(self) -> list[ReviewRecord]:
        """``reviews.jsonl`` (empty for an older folder without one).

        Raises:
            DataError: Not judged, judging did not finish, or the reviews are not those run.json
                records (or are of other answers).
        """
        return list(self.iter_reviews())

    def iter_reviews(self) -> Iterator[ReviewRecord]:
        """``reviews.jsonl`` streamed in file order (see :meth:`reviews`)."""
        info = self.info()
        path = self.file(REVIEWS)
        if is_legacy(info):
            return cast("Iterator[ReviewRecord]", _iter_jsonl(path)) if path.exists() else iter(())
        self._check_judging(info)
        return cast("Iterator[ReviewRecord]", _iter_jsonl(path))

    def results(self) -> dict[str, Any]:
        """``results.json``.

        Raises:
            DataError: As :meth:`reviews`, or the folder has no results.json.
        """
        info = self.info()
        path = self.file(RESULTS)
        if not is_legacy(info):
            self._check_judging(info)
        if not path.exists():
            raise DataError("results.json not found: judge the run first (mmrole judge)", file=str(path))
        data = files.read_json(path)
        if not isinstance(data, dict):
            raise DataError("results.json must hold a JSON object", file=str(path))
        return data

    def is_judged(self) -> bool:
        """Whether the folder holds judgements (valid or not: the readers say)."""
        info = self.info()
        return self.file(REVIEWS).exists() if is_legacy(info) else isinstance(info.get(JUDGING), dict)

    def _starts_afresh(
        self, stage: dict[str, Any], inputs: StageInputs, output: str, verb: str, fresh: str
    ) -> bool:
        """Whether a stage starts afresh: ``inputs`` differ from those recorded and its output is not
        on disk. With its output on disk that is refused (ConfigError naming the difference)."""
        recorded = StageInputs.from_dict(stage.get("inputs"))
        found = inputs.differences(recorded) if recorded is not None else []
        if found and self.file(output).exists():
            drops = (
                "answers, reviews, results and reports"
                if verb == "answered"
                else "reviews, results and reports"
            )
            raise ConfigError(
                f"run folder {self.path} was {verb} {' and '.join(found)}; "
                f"use --overwrite to {fresh} (drops its {drops})"
            )
        return bool(found)

    def _drop_judging(self, info: dict[str, Any]) -> None:
        """Delete the judging files and reports, then forget them in ``info`` (written by the caller)."""
        self._delete(REVIEWS, RESULTS, *REPORT_FILES.values())
        shutil.rmtree(self.file(REPORT_DATA), ignore_errors=True)
        for key in (JUDGING, "judge", "judge_options"):
            info.pop(key, None)
        if isinstance(info.get("reports"), dict):
            info["reports"] = {"results": None, "files": {}}

    def _write_info(self, info: dict[str, Any]) -> dict[str, Any]:
        stamp = now()
        info = without_secrets(info)
        # What ran first, then each stage's record, then the stamps: run.json reads top down.
        first = [k for k in (*_SUMMARY_KEYS, ANSWER, JUDGING, "reports") if k in info]
        stamps = {"created": info.get("created", stamp), "updated": stamp, "mmrole_version": __version__}
        info = {
            **{k: info[k] for k in first},
            **{k: v for k, v in info.items() if k not in first and k not in stamps and k != "layout"},
            **stamps,
            **({"layout": info["layout"]} if "layout" in info else {}),
        }
        self.path.mkdir(parents=True, exist_ok=True)
        files.write_json(self.file(RUN_INFO), info)
        remember_info(self.path, info)
        return info

    def _delete(self, *names: str) -> None:
        for name in names:
            self.file(name).unlink(missing_ok=True)


def _iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    # The lines are the records this module wrote (AnswerRecord, ReviewRecord): callers cast,
    # and each line's shape is not checked again on reading.

    for _, record in iter_jsonl(path):
        yield record


def read_run_info(folder: str | Path) -> dict[str, Any]:
    """``FOLDER/run.json`` ({} when absent); for run folders and the other folders that keep one."""
    return RunFolder(folder).info()


def update_run_info(folder: str | Path, updates: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``updates`` into ``FOLDER/run.json`` (see :meth:`RunFolder.update_info`)."""
    return RunFolder(folder).update_info(updates)
