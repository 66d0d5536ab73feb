"""Trainer callbacks: a rich progress bar, and a JSONL log of every logged metric in the run folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

#: The run folder's metric log: one JSON object per logging step.
LOG_FILE = "train_log.jsonl"


class JsonlLogCallback(TrainerCallback):
    """Append each log event (loss, learning rate, DPO rewards...) to ``OUTPUT_DIR/train_log.jsonl``.

    Written line by line and flushed, so a crash keeps everything logged so far.
    """

    def __init__(self, output_dir: str | Path):
        self.path = Path(output_dir) / LOG_FILE

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if not state.is_world_process_zero or not logs:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {"step": state.global_step, "epoch": state.epoch, **logs}
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, default=float) + "\n")


class RichProgressCallback(TrainerCallback):
    """A one-line rich progress bar with the latest loss (instead of transformers' tqdm bars).

    Elapsed time is shown beside the estimate: after a resume the estimate starts afresh (rich
    measures speed from the steps it sees), and a run's length so far is what people check first.
    """

    def __init__(self, console: Any = None) -> None:
        self.console = console  # a rich Console; None: rich's global one
        self.progress: Any = None
        self.task: Any = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("[bold blue]training"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[metrics]}"),
            transient=False,
            console=self.console,
        )
        self.progress.start()
        self.task = self.progress.add_task(
            "train", total=state.max_steps, completed=state.global_step, metrics=""
        )

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=state.global_step)

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if self.progress is None or not logs:
            return
        shown = {key: logs[key] for key in ("loss", "rewards/accuracies", "learning_rate") if key in logs}
        text = "  ".join(f"{key.split('/')[-1]} {value:.3g}" for key, value in shown.items())
        self.progress.update(self.task, metrics=text)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop the live display (also after a crash, so the terminal is left clean)."""
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
