"""Where a run folder's files are, and whether they agree with what its run.json records.

:class:`RunFiles` is the reading half of :class:`mmrole.runs.RunFolder`: paths, run.json,
the lock, and the checks every reader makes (see :mod:`mmrole.runs` for the layout and the
protocol that keeps the files consistent).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mmrole import files
from mmrole.data import image_root
from mmrole.data.jsonio import iter_jsonl
from mmrole.data.paths import UnsafePathError
from mmrole.errors import DataError
from mmrole.run_lock import FolderLock, holder_pid, remember_info, remembered_info
from mmrole.run_records import (
    ANSWER,
    ANSWERS,
    DONE,
    JUDGING,
    LAYOUT,
    LOCK,
    REPORT_FILES,
    RESULTS,
    REVIEWS,
    RUN_INFO,
    SAMPLES,
    STORE,
    StageInputs,
    is_legacy,
    spec_text,
)


class RunFiles:
    """The files of one run folder and their checks.

    Args:
        path: The folder (need not exist yet).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __str__(self) -> str:
        return str(self.path)

    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def store_path(self) -> Path:
        return self.path / STORE

    def report_paths(self) -> dict[str, Path]:
        """Where a report written into this folder goes, by kind (see :data:`REPORT_FILES`)."""
        return {kind: self.path / name for kind, name in REPORT_FILES.items()}

    def holds_run(self) -> bool:
        """Whether the folder holds a run (its samples)."""
        return self.file(SAMPLES).exists()

    def lock(self) -> FolderLock:
        """Hold the folder for this process (a context manager, re-entrant).

        Raises:
            ConfigError: Another live process holds it ("run folder RUN in use by pid N").
        """
        return FolderLock(self.path, self.file(LOCK))

    def holder(self) -> int | None:
        """The pid of the live process holding the folder, if any."""
        return holder_pid(self.path, self.file(LOCK))

    def info(self) -> dict[str, Any]:
        """``run.json`` ({} when the folder has none yet); read once while this process holds the folder."""
        known = remembered_info(self.path)
        if known is not None:
            return known
        path = self.file(RUN_INFO)
        if not path.exists():
            return {}
        data = files.read_json(path)
        if not isinstance(data, dict):
            raise DataError("run.json must hold a JSON object", file=str(path))
        remember_info(self.path, data)
        return data

    def name(self, info: Mapping[str, Any] | None = None) -> str:
        """The run's display name: run.json's ``name``, else the folder's."""
        info = self.info() if info is None else info
        return str(info.get("name") or self.path.resolve().name)

    def image_root(self, info: Mapping[str, Any] | None = None) -> Path | None:
        """Where the samples' images are: run.json's image root, else the data source's image folder."""
        info = self.info() if info is None else info
        data = info.get("data")
        answer = info.get("answer")
        if not isinstance(answer, dict):
            answer = {}
        explicit = (
            info.get("image_root")
            or (data.get("image_root") if isinstance(data, dict) else None)
            or (answer.get("options") or {}).get("image_root")
        )
        if explicit:
            return Path(explicit)
        source = data.get("source") if isinstance(data, dict) else data
        if isinstance(source, str) and source:
            try:
                return image_root(source)
            except UnsafePathError:
                raise  # an images/ folder linking out of its root is refused, never read from elsewhere
            except Exception:  # noqa: BLE001 - a moved or deleted source: judge without images or with --images
                return None
        return None

    def problems(self) -> list[str]:
        """Every way the folder's files disagree with run.json ([] when consistent)."""
        info = self.info()
        if is_legacy(info):
            return []
        found: list[str] = []
        stages = [
            (ANSWER, self._check_answer, (SAMPLES, ANSWERS)),
            (JUDGING, self._check_judging, (REVIEWS, RESULTS)),
            ("reports", self._check_reports, tuple(REPORT_FILES.values())),
        ]
        for key, check, names in stages:
            if not isinstance(info.get(key), dict):  # an unrecorded file is a leftover
                found += [f"{self.file(n)}: not recorded in run.json" for n in names if self.file(n).exists()]
                continue
            try:
                check(info)
            except DataError as err:
                found.append(str(err))
                break  # what follows depends on it
        return found

    def _check_answer(self, info: dict[str, Any]) -> None:
        if not self.holds_run():
            raise DataError(
                "not a run folder (no samples.jsonl): run `mmrole answer` or `mmrole import` first",
                file=str(self.path),
            )
        if is_legacy(info):
            return
        stage = info.get(ANSWER)
        if not isinstance(stage, dict):
            raise DataError("run.json records no answering: run `mmrole answer` first", file=str(self.path))
        self._check_stage(stage, "answering", "mmrole answer", (SAMPLES, ANSWERS))

    def _check_judging(self, info: dict[str, Any]) -> None:
        self._check_answer(info)
        if is_legacy(info):
            return
        stage = info.get(JUDGING)
        if not isinstance(stage, dict):
            raise DataError("not judged yet: run `mmrole judge` first", file=str(self.path))
        if stage.get("answers") != info[ANSWER].get("judged"):
            raise DataError(
                "the reviews are of other answers (the run was answered again since): rerun `mmrole judge`",
                file=str(self.path),
            )
        self._check_stage(stage, "judging", "mmrole judge", (REVIEWS, RESULTS))

    def _check_reports(self, info: dict[str, Any]) -> None:
        record = info["reports"]
        tracked = record.get("files") or {}
        for name in REPORT_FILES.values():
            path = self.file(name)
            if name not in tracked:
                if path.exists():
                    raise DataError("not recorded in run.json (a report left half-written?)", file=str(path))
            elif files.file_digest(path) != tracked[name]:
                raise DataError("does not match run.json: rerun `mmrole report`", file=str(path))
        if tracked and record.get("results") != files.file_digest(self.file(RESULTS)):
            raise DataError("the reports are of other results: rerun `mmrole report`", file=str(self.path))

    def _check_stage(self, stage: dict[str, Any], what: str, command: str, names: tuple[str, ...]) -> None:
        if stage.get("state") != DONE:
            pid = self.holder()
            reason = (
                f"{what} is in progress (pid {pid})"
                if pid and pid != os.getpid()
                else f"{what} did not finish (killed or interrupted), so its files may lag the store; "
                f"rerun `{command}` with the same options to finish it"
            )
            raise DataError(reason, file=str(self.path))
        recorded = stage.get("files") or {}
        for name in names:
            actual = files.file_digest(self.file(name))
            if actual is None:
                raise DataError(f"missing ({what} wrote it): rerun `{command}`", file=str(self.file(name)))
            if actual != recorded.get(name):
                raise DataError(
                    f"does not match run.json (changed after {what}?): rerun `{command}`",
                    file=str(self.file(name)),
                )

    def _judged_digest(self) -> str | None:
        """The digest of what judging judges: the samples and each answer (not its call metadata,
        which changes when a rerun serves the same answer from the store)."""

        if not self.file(ANSWERS).exists():
            return None
        answered = [(r.get("id"), r.get("answer"), r.get("error")) for _, r in iter_jsonl(self.file(ANSWERS))]
        text = json.dumps([files.file_digest(self.file(SAMPLES)), answered], ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()

    def reports_current(self) -> bool:
        """Whether the folder holds reports of its current results."""
        info = self.info()
        if is_legacy(info) or not isinstance(info.get("reports"), dict) or not info["reports"].get("files"):
            return False
        try:
            self._check_judging(info)
            self._check_reports(info)
        except DataError:
            return False
        return True

    def _reports_record(self) -> dict[str, Any]:
        written = {p.name: files.file_digest(p) for p in self.report_paths().values() if p.exists()}
        return {"results": files.file_digest(self.file(RESULTS)), "files": written}

    def _adopted(self, info: dict[str, Any]) -> dict[str, Any]:
        """``info`` in this layout: an older folder's files are recorded as they are."""
        if not is_legacy(info):
            return info
        adopted = {**info, "layout": LAYOUT}
        digest = files.file_digest
        old_answer = info.get(ANSWER)
        if not isinstance(old_answer, dict):
            old_answer = {}
        if self.holds_run():
            adopted[ANSWER] = {
                **old_answer,
                "judged": self._judged_digest(),
                "inputs": StageInputs(spec_text(info.get("agent"))).to_dict(),
                "state": DONE,
                "files": {SAMPLES: digest(self.file(SAMPLES)), ANSWERS: digest(self.file(ANSWERS))},
            }
        if self.file(REVIEWS).exists():
            adopted[JUDGING] = {
                "inputs": StageInputs(
                    spec_text(info.get("judge")), info.get("judge_options") or {}
                ).to_dict(),
                "answers": self._judged_digest(),
                "state": DONE,
                "files": {REVIEWS: digest(self.file(REVIEWS)), RESULTS: digest(self.file(RESULTS))},
            }
        if any(p.exists() for p in self.report_paths().values()):
            adopted["reports"] = self._reports_record()
        return adopted
