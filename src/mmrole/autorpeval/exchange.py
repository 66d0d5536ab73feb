"""Exchange with BeyondDialogue's own scripts: its per-role result files into a run, and a run out.

BeyondDialogue's ``AutoDialog`` writes ``chat_dialogues[_en]/<model>/<role>.json`` (the role file,
each chat with ``dialogues``) and its ``AutoTest`` scripts add each question's ``<q>_eval`` and
``<q>_analysis_eval`` to those files in place. :func:`import_results` reads such files into a run
folder: evaluated files are scored as they are, files with dialogues are ready for
``mmrole autorpeval questions``, plain role files for ``dialogues``. :func:`export_run` writes a
run's files in BeyondDialogue's layout (Chinese roles under ``chat_dialogues/<model>/``, English
under ``chat_dialogues_en/<model>/``), where its scripts read them.

Field names and types are BeyondDialogue's: ``dialogues`` is ``[{"role": str, "dialogue": str}]``;
``character_eval`` and ``style_eval`` lists of labels, ``emotion_eval`` six ints by emotion,
``relationship_eval`` a number, ``personality_eval`` MBTI letters, ``human_likeness_eval`` and
``coherence_eval`` 1 or 0, ``rolechoice_eval`` a letter; any of them ``null`` when it failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmrole import files
from mmrole.autorpeval.dialogues import DIALOGUE_ERROR
from mmrole.autorpeval.evaluate import EVAL_ERRORS
from mmrole.autorpeval.questions import ALL_QUESTIONS, QUESTIONS, analysis_field, eval_field
from mmrole.autorpeval.roles import Role, load_roles
from mmrole.autorpeval.run_folder import STAGES, AutoRPEvalRun, role_file_text
from mmrole.autorpeval.scene_images import has_images, resolve_images
from mmrole.data.paths import check_name
from mmrole.errors import ConfigError, DataError
from mmrole.run_records import StageInputs, data_source

__all__ = ["ImportSummary", "check_result_chat", "export_run", "import_results"]

_DIALOGUE_FIELDS = ("dialogues", DIALOGUE_ERROR)
_EVAL_FIELDS = (
    *(eval_field(q) for q in ALL_QUESTIONS),
    *(analysis_field(q) for q in ALL_QUESTIONS),
    EVAL_ERRORS,
)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


#: Per question, what a (non-null) answer must be.
_ANSWER_TYPES: dict[str, tuple[str, Any]] = {
    "character": ("a list of strings", lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v)),
    "style": ("a list of strings", lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v)),
    "emotion": (
        "an object of six numbers",
        lambda v: isinstance(v, dict) and all(_number(x) for x in v.values()),
    ),
    "relationship": ("a number", _number),
    "personality": ("a string", lambda v: isinstance(v, str)),
    "human_likeness": ("1 or 0", lambda v: v in (0, 1) and not isinstance(v, bool)),
    "coherence": ("1 or 0", lambda v: v in (0, 1) and not isinstance(v, bool)),
    "rolechoice": ("a letter", lambda v: isinstance(v, str)),
    "grounding": ("1 or 0", lambda v: v in (0, 1) and not isinstance(v, bool)),
}


def check_result_chat(chat: dict[str, Any], *, file: str, role: str) -> None:
    """Refuse a chat whose ``dialogues`` or ``*_eval`` fields are not BeyondDialogue's types.

    Raises:
        DataError: One line naming the file, the role and the field.
    """
    partner = chat.get("chat_role")
    where = f"chats.{partner}"
    if "dialogues" in chat:
        turns = chat["dialogues"]
        if not isinstance(turns, list):
            raise DataError("must be a list of turns", file=file, record=role, field=f"{where}.dialogues")
        for index, turn in enumerate(turns):
            if not (
                isinstance(turn, dict)
                and isinstance(turn.get("role"), str)
                and isinstance(turn.get("dialogue"), str)
            ):
                raise DataError(
                    'must be {"role": speaker, "dialogue": text}',
                    file=file,
                    record=role,
                    field=f"{where}.dialogues.{index}",
                )
    for question, (kind, valid) in _ANSWER_TYPES.items():
        value = chat.get(eval_field(question))
        if value is not None and not valid(value):
            raise DataError(
                f"must be {kind} or null, not {value!r}",
                file=file,
                record=role,
                field=f"{where}.{eval_field(question)}",
            )


def _strip(role: Role, keys: tuple[str, ...]) -> Role:
    chats = {}
    for scene in role.scenes:
        chat = role.chat(scene.partner)
        for key in keys:
            chat.pop(key, None)
        chats[scene.partner] = chat
    return role.with_chats(chats)


@dataclass
class ImportSummary:
    """What an import read: roles, chats, and how far the files go (``scenarios``, ``dialogues`` or
    ``questions``: the last stage they hold)."""

    run: Path
    n_roles: int
    n_chats: int
    stage: str
    results: dict[str, Any] | None = None


def import_results(
    source: str | Path,
    run_dir: str | Path,
    *,
    name: str | None = None,
    overwrite: bool = False,
    images: str | Path | None = None,
) -> ImportSummary:
    """Read BeyondDialogue role or result files (a folder, searched recursively, or one file) into a run.

    A chat's relative image path is resolved as ``autorpeval`` resolves it in role files (under
    ``images``, or the file's own folder), so the run's later stages find the same file from any
    working directory; an absolute one (what ``autorpeval export`` writes) is kept. The stages
    that send images check them before their first call.

    Raises:
        DataError: A file is not a valid role file, or its dialogues or answers are not BeyondDialogue's
            types, or an image path leaves its folder.
        ConfigError: The run folder holds other stages and ``overwrite`` is not set.
    """
    roles = load_roles(source)
    if has_images(roles):
        roles = resolve_images(roles, images, check=False, absolute_ok=True)
    for role in roles:
        for scene in role.scenes:
            check_result_chat(role.chat(scene.partner), file=role.source or "", role=role.name)
    chats = [role.chat(scene.partner) for role in roles for scene in role.scenes]
    stage = "scenarios"
    if chats and all("dialogues" in chat for chat in chats):
        stage = "dialogues"
        if all(all(eval_field(q) in chat for q in QUESTIONS) for chat in chats):
            stage = "questions"
    run = AutoRPEvalRun(run_dir)
    order = list(STAGES)
    inputs = StageInputs("imported", {}, data_source(source))
    with run.lock():
        for number, current in enumerate(order[: order.index(stage) + 1]):
            keep = order.index(current)
            dropped = (() if keep >= 1 else _DIALOGUE_FIELDS) + (() if keep >= 2 else _EVAL_FIELDS)
            written = [_strip(role, dropped) if dropped else role for role in roles]
            run.begin(
                current,
                inputs,
                overwrite=overwrite and number == 0,
                summary={"imported": data_source(source)},
            )
            run.finish(current, run.write_roles(current, written), {"roles": len(roles), "chats": len(chats)})
        if name:
            run.set_name(name)
    results = None
    if stage == "questions":
        from mmrole.autorpeval.pipeline import score_run

        results, _ = score_run(run.path)
    return ImportSummary(run.path, len(roles), len(chats), stage, results)


def export_run(
    run_dir: str | Path, out_dir: str | Path, *, model: str | None = None, stage: str | None = None
) -> list[Path]:
    """Write a run's per-role files where BeyondDialogue's scripts read them:
    ``OUT/chat_dialogues/<model>/`` (Chinese roles) and ``OUT/chat_dialogues_en/<model>/`` (English).

    Args:
        run_dir: The run folder.
        out_dir: BeyondDialogue's folder of chat dialogues' parents.
        model: The model folder's name (default: the run's name).
        stage: ``dialogues`` or ``questions`` (default: the last one the run finished).

    Raises:
        DataError: The run has not finished that stage.
        ConfigError: An unknown stage.
    """
    run = AutoRPEvalRun(run_dir)
    if stage is None:
        stage = "questions" if (run.stage("questions") or {}).get("state") == "done" else "dialogues"
    if stage not in ("dialogues", "questions"):
        raise ConfigError(f"export: the stage is dialogues or questions, not {stage!r}")
    model = model or run.name()
    check_name(model, field="model")
    written = []
    for role in run.roles(stage):
        folder = Path(out_dir) / ("chat_dialogues" if role.language == "cn" else "chat_dialogues_en") / model
        path = folder / f"{role.name}.json"
        files.write_text(path, role_file_text(role.file_data()))
        written.append(path)
    return written
