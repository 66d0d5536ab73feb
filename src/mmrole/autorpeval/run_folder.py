"""An AutoRPEval run folder: its files, its stage records in run.json, and the checks readers make.

    RUN/
      run.json                 kind "autorpeval"; per stage its inputs, state and file digests
      store.sqlite             the engine's request store: resume and caching
      scenarios/{en,cn}/*.json     the roles with their chats (BeyondDialogue role files)
      dialogues/{en,cn}/*.json     + each chat's ``dialogues`` (BeyondDialogue's chat_dialogues files)
      evaluations/{en,cn}/*.json   + each chat's ``*_eval`` and ``*_analysis_eval`` fields
      results.json             the metrics (mmrole.autorpeval.metrics), per language and pooled
      report.md / report.csv / report.html

The per-role files are BeyondDialogue's result files, field for field: their AutoTest scripts can
read ``dialogues/en/`` as they read ``chat_dialogues_en/<model>/``. Each stage is committed as
``mmrole.runs`` commits its stages: its inputs and ``"state": "running"`` first, then its files
(atomic writes rebuilt from the store), then ``"state": "done"`` with their digests. A stage started
with other inputs while its files exist is refused unless ``overwrite``, which drops it and every
stage after it. Readers refuse a stage that is not done or whose files are not those recorded.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mmrole import files
from mmrole.autorpeval.roles import Role, load_roles
from mmrole.data.paths import check_name
from mmrole.errors import ConfigError, DataError
from mmrole.run_lock import remember_info
from mmrole.run_records import DONE, RUNNING, StageInputs, now, without_secrets
from mmrole.runs import RunFolder

__all__ = ["KIND", "RESULTS", "STAGES", "AutoRPEvalRun", "is_autorpeval_run", "role_file_text"]

KIND = "autorpeval"
#: The stages, in order, and the folder each writes.
STAGES: dict[str, str] = {"scenarios": "scenarios", "dialogues": "dialogues", "questions": "evaluations"}
RESULTS = "results.json"
REPORTS = ("report.md", "report.csv", "report.html")
#: run.json's summary of what ran, first in the file.
_SUMMARY_KEYS = ("kind", "name", "roles", "imported", "agent", "simulator", "evaluator")
_COMMANDS = {name: f"mmrole autorpeval {name}" for name in STAGES}


def is_autorpeval_run(path: str | Path) -> bool:
    """Whether ``path`` is an AutoRPEval run folder (its run.json says so)."""
    run_json = Path(path) / "run.json"
    if not run_json.is_file():
        return False
    try:
        return RunFolder(path).info().get("kind") == KIND
    except DataError:
        return False


def role_file_text(data: Mapping[str, Any]) -> str:
    """A role file as BeyondDialogue writes it (``json.dump(..., indent=4, ensure_ascii=False)``)."""
    return json.dumps(data, ensure_ascii=False, indent=4, allow_nan=False)


def _digest(record: Mapping[str, Any]) -> str:
    text = json.dumps(sorted((record.get("files") or {}).items()))
    return hashlib.sha256(text.encode()).hexdigest()


class AutoRPEvalRun:
    """The files of one AutoRPEval run folder (see the module docstring).

    Args:
        path: The folder (need not exist yet).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.folder = RunFolder(self.path)

    @property
    def store_path(self) -> Path:
        return self.folder.store_path

    def lock(self) -> Any:
        """Hold the folder for this process (ConfigError when another process holds it)."""
        return self.folder.lock()

    def info(self) -> dict[str, Any]:
        info = self.folder.info()
        if info and info.get("kind") != KIND:
            raise ConfigError(f"{self.path} is not an AutoRPEval run folder (it holds a run of mmrole eval)")
        return info

    def name(self) -> str:
        return self.folder.name(self.info())

    def set_name(self, name: str) -> None:
        """Set the run's display name (run.json's ``name``)."""
        self._write_info({**self.info(), "name": name})

    def stage_dir(self, stage: str) -> Path:
        return self.path / STAGES[stage]

    def role_path(self, stage: str, role: Role) -> Path:
        check_name(role.name, file=str(self.stage_dir(stage)), record=role.name, field="name")
        return self.stage_dir(stage) / role.language / f"{role.name}.json"

    def stage(self, stage: str) -> dict[str, Any] | None:
        record = self.info().get(stage)
        return record if isinstance(record, dict) else None

    def begin(
        self,
        stage: str,
        inputs: StageInputs,
        *,
        overwrite: bool = False,
        summary: Mapping[str, Any] | None = None,
    ) -> None:
        """Record that ``stage`` starts with ``inputs`` (the stage before it must be done).

        Raises:
            ConfigError: The stage's files were made with other inputs and ``overwrite`` is not set.
            DataError: The stage before it is not done, or its files are not those recorded.
        """
        order = list(STAGES)
        if (index := order.index(stage)) > 0:
            self.check(order[index - 1])
        info = self.info()
        record = info.get(stage)
        recorded = StageInputs.from_dict(record.get("inputs") if isinstance(record, dict) else None)
        found = inputs.differences(recorded) if recorded is not None else []
        if found and self.stage_dir(stage).exists() and not overwrite:
            raise ConfigError(
                f"run folder {self.path}: its {stage} were made {' and '.join(found)}; use --overwrite to "
                f"start them afresh (drops them and what was made from them)"
            )
        if found or overwrite:
            self._drop(order[index:], info)
        info[stage] = {"inputs": inputs.to_dict(), "state": RUNNING, "started": now()}
        info.update({"kind": KIND, **(summary or {})})
        self._write_info(info)

    def write_roles(self, stage: str, roles: Iterable[Role]) -> list[Path]:
        """Write each role's file of ``stage`` (atomically); returns the paths written."""
        written = []
        for role in roles:
            path = self.role_path(stage, role)
            files.write_text(path, role_file_text(role.file_data()))
            written.append(path)
        for stale in set(self.stage_dir(stage).rglob("*.json")) - set(written):
            stale.unlink()  # a role no longer in the run (another --limit or role set)
        return written

    def finish(self, stage: str, written: Iterable[Path], counts: Mapping[str, Any] | None = None) -> None:
        """Commit ``stage``: the digests of the files it wrote, and what it did."""
        info = self.info()
        info[stage].update(
            state=DONE,
            finished=now(),
            counts=dict(counts or {}),
            files={str(path.relative_to(self.path)): files.file_digest(path) for path in sorted(written)},
        )
        # What the next stage made from other files than these (a rerun that finished a failed
        # dialogue) is dropped: it is remade from the store by rerunning that stage, never refused.
        order = list(STAGES)
        later = order[order.index(stage) + 1 :]
        following = info.get(later[0]) if later else None
        if isinstance(following, dict) and (following.get("inputs") or {}).get("data") != _digest(
            info[stage]
        ):
            self._drop(later, info)
        self._write_info(info)

    def check(self, stage: str) -> dict[str, Any]:
        """The record of ``stage``, when it is done and its files are those recorded.

        Raises:
            DataError: It did not run or finish, or its files changed since.
        """
        record = self.stage(stage)
        command = _COMMANDS[stage]
        if record is None:
            raise DataError(f"no {stage} yet: run `{command}` first", file=str(self.path))
        if record.get("state") != DONE:
            raise DataError(
                f"the {stage} stage did not finish (killed or interrupted); rerun `{command}` to finish it",
                file=str(self.path),
            )
        recorded = record.get("files") or {}
        on_disk = {str(p.relative_to(self.path)) for p in self.stage_dir(stage).rglob("*.json")}
        for name in sorted(set(recorded) | on_disk):
            if files.file_digest(self.path / name) != recorded.get(name):
                raise DataError(
                    f"does not match run.json (changed since?): rerun `{command}`", file=str(self.path / name)
                )
        return record

    def digest(self, stage: str) -> str:
        """One digest of everything ``stage`` wrote (what the next stage's inputs name)."""
        return _digest(self.check(stage))

    def roles(self, stage: str) -> list[Role]:
        """The roles ``stage`` wrote (checked first)."""
        self.check(stage)
        if not self.stage_dir(stage).exists():
            return []
        return load_roles(self.stage_dir(stage), require_chats=True)

    def results(self) -> dict[str, Any]:
        """``results.json``, when it is the one the questions stage recorded."""
        record = self.check("questions")
        path = self.path / RESULTS
        if files.file_digest(path) != record.get("results"):
            raise DataError("does not match run.json: rerun `mmrole autorpeval score`", file=str(path))
        data = files.read_json(path)
        if not isinstance(data, dict):
            raise DataError("must hold a JSON object", file=str(path))
        return data

    def write_results(self, results: Mapping[str, Any]) -> Path:
        """Write ``results.json`` and record it with the questions stage."""
        path = self.path / RESULTS
        files.write_json(path, results)
        info = self.info()
        info["questions"]["results"] = files.file_digest(path)
        self._write_info(info)
        return path

    def _write_info(self, info: dict[str, Any]) -> None:
        """Write run.json whole (stages dropped stay dropped), stamped and without credentials."""
        from mmrole import __version__

        stamp = now()
        info = without_secrets(info)
        # What ran first, then each stage's record, then the stamps: run.json reads top down.
        first = [key for key in (*_SUMMARY_KEYS, *STAGES) if key in info]
        stamps = {"created": info.get("created", stamp), "updated": stamp, "mmrole_version": __version__}
        rest = {key: value for key, value in info.items() if key not in first and key not in stamps}
        written = {**{key: info[key] for key in first}, **rest, **stamps}
        files.write_json(self.path / "run.json", written)
        remember_info(self.path, written)  # what RunFolder.info() gives while this process holds the folder

    def _drop(self, stages: Iterable[str], info: dict[str, Any]) -> None:
        for stage in stages:
            shutil.rmtree(self.stage_dir(stage), ignore_errors=True)
            info.pop(stage, None)
        if "questions" in stages:
            for name in (RESULTS, *REPORTS):
                (self.path / name).unlink(missing_ok=True)
