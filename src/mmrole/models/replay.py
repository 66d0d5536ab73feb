"""Answers read from a file, so stored outputs are evaluated exactly like live ones.

Accepted files (or a folder of them, read in name order):

* JSONL, one ``{"id", "answer"}`` per line: mmrole's ``answers.jsonl`` (a line with an
  ``error`` and no answer replays as that failure); ``prediction``/``response``/``text`` also work.
* MMRole's released ``*_test.*.json``: a list of records whose ``conversations[1].answer`` is
  the MRPA's answer (``conversations[0].value`` is the instruction).
* A JSON object ``{id: answer}``.

Lookup: by the id of the engine request being answered (the engine sets
:data:`mmrole.models.base.current_request_id`), else by the last user message's text, which
matches MMRole records' instructions, so replay also works outside the engine.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from mmrole.data.jsonio import iter_jsonl_lines
from mmrole.errors import BackendError, DataError
from mmrole.models.base import (
    Backend,
    Completion,
    GenerationParams,
    Message,
    current_request_id,
    last_user_text,
)

_ANSWER_FIELDS = ("answer", "prediction", "response", "text")


class ReplayBackend(Backend):
    """Serve stored answers.

    Args:
        path: A JSONL/JSON file or a folder of them.

    Raises:
        DataError: the file is missing or malformed (names the file and line or record).
    """

    #: Two requests with the same messages but different ids get different stored answers.
    key_includes_request_id = True

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        self.spec = f"replay:{path}"
        self._by_id: dict[str, tuple[str | None, str | None]] = {}
        self._by_instruction: dict[str, str] = {}
        if not self.path.exists():
            raise DataError("replay file not found", file=str(self.path))
        files = [self.path]
        if self.path.is_dir():
            files = sorted(p for p in self.path.rglob("*") if p.suffix in (".json", ".jsonl") and p.is_file())
        digest = hashlib.sha256()
        for file in files:
            data = file.read_bytes()
            digest.update(data)
            if file.suffix == ".jsonl":
                self._load_jsonl(file, data)
            else:
                self._load_json(file, data)
        #: Edited answer files must not be served from an old cache entry.
        self.key_options = {"content_sha256": digest.hexdigest()}

    def __len__(self) -> int:
        return len(self._by_id)

    def _add(self, record_id: Any, answer: Any, error: Any, file: Path, where: str) -> None:
        if record_id is None:
            raise DataError("record has no id", file=str(file), record=where, field="id")
        if answer is not None and not isinstance(answer, str):
            raise DataError("answer must be a string", file=str(file), record=str(record_id), field="answer")
        self._by_id[str(record_id)] = (answer, str(error) if error else None)

    def _load_jsonl(self, file: Path, data: bytes) -> None:
        for number, record in iter_jsonl_lines(data.decode("utf-8").splitlines(), str(file)):
            answer = next((record[k] for k in _ANSWER_FIELDS if record.get(k) is not None), None)
            self._add(record.get("id"), answer, record.get("error"), file, f"line {number}")

    def _load_json(self, file: Path, data: bytes) -> None:
        try:
            records = json.loads(data)
        except ValueError as exc:
            raise DataError(f"not JSON: {exc}", file=str(file)) from None
        if isinstance(records, dict):
            for record_id, answer in records.items():
                self._add(record_id, answer, None, file, str(record_id))
            return
        if not isinstance(records, list):
            raise DataError("expected a list of records or an {id: answer} object", file=str(file))
        for index, record in enumerate(records):
            where = str(record.get("id", f"#{index}")) if isinstance(record, dict) else f"#{index}"
            conversations = record.get("conversations") if isinstance(record, dict) else None
            if (
                not isinstance(conversations, list)
                or len(conversations) < 2
                or not isinstance(conversations[1], dict)
            ):
                raise DataError(
                    "needs conversations[1] with an answer",
                    file=str(file),
                    record=where,
                    field="conversations",
                )
            answer = conversations[1].get("answer")
            if answer is None:
                raise DataError(
                    "no stored answer", file=str(file), record=where, field="conversations[1].answer"
                )
            self._add(record.get("id"), answer, None, file, where)
            instruction = conversations[0].get("value") if isinstance(conversations[0], dict) else None
            if isinstance(instruction, str):
                self._by_instruction[_normalize(instruction)] = str(record.get("id"))

    async def generate(self, messages: list[Message], params: GenerationParams) -> Completion:
        request_id = current_request_id.get()
        record_id = (
            request_id
            if request_id in self._by_id
            else self._by_instruction.get(_normalize(last_user_text(messages)))
        )
        if record_id is None:
            shown = request_id if request_id is not None else "(no id; instruction did not match)"
            raise BackendError(f"{self.spec}: no stored answer for request {shown}")
        answer, error = self._by_id[record_id]
        if answer is None:
            raise BackendError(f"{self.spec}: stored answer for {record_id} failed: {error or 'no answer'}")
        return Completion(text=answer, metadata={"replay_id": record_id})


def _normalize(text: str) -> str:
    return text.replace("<image>", "").strip()
