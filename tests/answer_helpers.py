"""Helpers of the `mmrole answer` end-to-end tests: a samples file with images, and one CLI run."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from mmrole.cli import app
from mmrole.data.jsonio import iter_jsonl
from mmrole.models.base import last_user_text
from mmrole.testing.responders import InjectedError
from mmrole.testing.server import LocalOpenAIServer
from runs_helpers import write_samples

runner = CliRunner()


def read_jsonl(path):
    return [record for _, record in iter_jsonl(path)]


SECRET = "sk-mmrole-test-SECRET-4f9a2c"


def samples_file(tmp_path: Path, n: int = 5) -> Path:
    """A samples JSONL with an images/ folder beside it: sample i's image is (40 + i) x 30 pixels."""
    return write_samples(tmp_path, n, first_image=(40, 30), reference="ref")


def image_size_responder(messages):
    """Answers with the instruction's question and the image size it received."""
    url = messages[-1]["content"][0]["image_url"]["url"]
    width, height = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).size
    return f"{last_user_text(messages).split('. ')[-1]} {width}x{height}"


def answer_args(agent_url: str, data: Path, run: Path, *extra: str) -> list[str]:
    """``mmrole answer``'s arguments for an OpenAI-compatible agent at ``agent_url``, no progress bar."""
    return [
        "answer",
        "--agent",
        f"openai:{agent_url}",
        "--data",
        str(data),
        "--run",
        str(run),
        "--no-progress",
        *extra,
    ]


def run_answer(server: LocalOpenAIServer, data: Path, run: Path, *extra: str):
    return runner.invoke(app, answer_args(f"test-model@{server.base_url}", data, run, *extra))


def failing_question(number: int):
    """A responder answering "fine", except to question ``number`` (HTTP 400, context length exceeded)."""

    def responder(messages):
        if f"Question {number}." in last_user_text(messages):
            raise InjectedError(400, "context length exceeded")
        return "fine"

    return responder
