"""The training progress bar: steps out of the total, elapsed time and estimate, the latest loss."""

from __future__ import annotations

import io
from types import SimpleNamespace

from rich.console import Console

from mmrole.train.callbacks import RichProgressCallback


def test_the_bar_shows_steps_elapsed_time_and_the_latest_loss_and_closes():
    out = io.StringIO()
    callback = RichProgressCallback(console=Console(file=out, width=160, force_terminal=False))
    state = SimpleNamespace(is_world_process_zero=True, max_steps=40, global_step=30)  # a resumed run
    callback.on_train_begin(None, state, None)
    state.global_step = 31
    callback.on_step_end(None, state, None)
    callback.on_log(None, state, None, logs={"loss": 1.23456, "learning_rate": 2e-5, "grad_norm": 3.0})
    callback.on_train_end(None, state, None)
    shown = out.getvalue().strip().splitlines()[-1]
    assert shown.startswith("training") and "31/40" in shown
    assert "0:00:00 eta" in shown  # elapsed, then the estimate
    assert "loss 1.23" in shown and "learning_rate 2e-05" in shown and "grad_norm" not in shown
    assert callback.progress is None


def test_other_ranks_show_nothing():
    out = io.StringIO()
    callback = RichProgressCallback(console=Console(file=out, force_terminal=False))
    state = SimpleNamespace(is_world_process_zero=False, max_steps=10, global_step=0)
    callback.on_train_begin(None, state, None)
    callback.on_log(None, state, None, logs={"loss": 1.0})
    callback.on_train_end(None, state, None)
    assert out.getvalue() == "" and callback.progress is None
