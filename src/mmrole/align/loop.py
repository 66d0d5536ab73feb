"""``mmrole align``: iterative RLAIF-V-style DPO.

Each iteration generates preference pairs with the current base model (``mmrole feedback``),
trains DPO from that base on them (``mmrole train dpo``), and evaluates the trained model
(and, if asked, its intermediate checkpoints) with MMRole-Eval (``mmrole answer`` +
``mmrole judge``). The best model so far, the starting model included, is the next base. ::

    OUT/
      align.json                      the configuration
      base/eval/                      the starting model's evaluation run
      iter_1/feedback/                pairs.jsonl, candidates.jsonl, the judged responses...
      iter_1/model/                   the DPO run folder (loadable as hf:OUT/iter_1/model)
      iter_1/eval/                    the trained model's evaluation run (results.json)
      iter_1/eval/checkpoints/NAME/   intermediate checkpoints' evaluations (--eval-checkpoints)
      iter_1/iteration.json           what the iteration did; its presence marks it finished
      summary.md, summary.json        one row per evaluated model

Resumable at every level: a finished iteration is read back, not redone; inside an unfinished
one, finished feedback, training and evaluations are reused, and the engine's stores make
interrupted sampling and judging continue where they stopped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mmrole.align.feedback import SUMMARY_FILE as FEEDBACK_SUMMARY
from mmrole.align.feedback import generate_feedback, prompt_slice, unscored_responses
from mmrole.align.loop_config import AlignConfig
from mmrole.align.loop_summary import write_summary
from mmrole.errors import ConfigError, DataError
from mmrole.eval.answer import answer_dataset
from mmrole.eval.judge import judge_run
from mmrole.eval.judge_plan import JudgeOptions
from mmrole.files import read_json, write_json
from mmrole.models.base import GenerationParams
from mmrole.runs import RunFolder
from mmrole.train.base_config import build_config
from mmrole.train.common import SUMMARY_FILE
from mmrole.train.dpo import train_dpo
from mmrole.train.dpo_config import DPOConfig

logger = logging.getLogger("mmrole.align")

CONFIG_FILE, ITERATION_FILE = "align.json", "iteration.json"
#: Settings that define an align folder: changing them mid-way would mix two experiments.
_FIXED = ("model", "data", "judge", "test_data")


def _say(message: str) -> None:
    from rich.console import Console

    Console(stderr=True).print(f"[bold cyan]align[/] {message}", highlight=False)


def _free_memory() -> None:
    """Give a trained or sampled model's memory back before the next one loads."""
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover - torch is a training dependency
        pass


def evaluate_model(model_dir: Path, eval_dir: Path, config: AlignConfig) -> dict[str, Any]:
    """MMRole-Eval results of a model (greedy answers, then the judge); reused when already done."""

    folder = RunFolder(eval_dir)
    done = folder.info().get("align_eval") if eval_dir.is_dir() else None
    if done and done.get("model") == str(model_dir):
        try:
            return folder.results()
        except DataError:
            pass  # interrupted or stale: evaluate again (finished calls come from the store)
    fb = config.feedback
    params = GenerationParams(max_tokens=config.eval_max_tokens, temperature=0.0)
    answered = asyncio.run(
        answer_dataset(
            f"hf:{model_dir}",
            config.test_data,
            eval_dir,
            params=params,
            limit=config.eval_limit,
            missing_image=fb.missing_image,
            max_image_side=fb.max_image_side,
            engine=config.engine,
            backend_options=config.model_args,
        )
    )
    _free_memory()
    _check_failures(config, answered.failed, answered.total, "evaluation answers", eval_dir / "answers.jsonl")
    options = JudgeOptions(
        metrics=config.eval_metrics,
        max_tokens=config.eval_judge_max_tokens,
        missing_image=fb.missing_image,
        max_image_side=fb.max_image_side,
    )
    summary = asyncio.run(
        judge_run(eval_dir, config.judge, options, engine=config.engine, backend_options=config.judge_args)
    )
    _check_failures(
        config, summary.n_failed, summary.n_tasks, "evaluation judgements", eval_dir / "reviews.jsonl"
    )
    folder.update_info({"align_eval": {"model": str(model_dir)}})
    return summary.results


def _check_failures(config: AlignConfig, failed: int, total: int, what: str, where: Path) -> None:
    """Stop (TooManyFailures) at a stage with more failures than ``config.engine.max_failures`` allows."""
    if config.engine.max_failures is not None:
        config.engine.allowed_failures().check(failed, total, what, str(where))


def overall(results: dict[str, Any] | None) -> float | None:
    """The overall MMRole-Eval score of a results.json (None when incomplete)."""
    return ((results or {}).get("overall") or {}).get("mean")


def feedback_options(config: AlignConfig, iteration: int, n_prompts: int) -> Any:
    """Iteration ``iteration``'s feedback options: its slice of prompts and its sampling seed (the
    evaluations' test set held out of the prompts)."""
    options = config.feedback_holdout()
    changes: dict[str, Any] = {"engine": config.engine}
    if config.prompts_per_iteration is not None:
        offset = ((iteration - 1) * config.prompts_per_iteration) % n_prompts
        changes["offset"], changes["limit"] = offset, config.prompts_per_iteration
        if options.limit is not None:  # the slices wrap around within the first --limit prompts
            changes["limit"] = min(config.prompts_per_iteration, n_prompts - offset)
    if options.seed is not None:
        changes["seed"] = options.seed + 1000 * iteration  # new samples even when the base did not change
    return dataclasses.replace(options, **changes)


def train_iteration(base: str, pairs: Path, model_dir: Path, config: AlignConfig) -> dict[str, Any]:
    """DPO from ``base`` on ``pairs`` into ``model_dir`` (read back when already trained)."""

    if (model_dir / SUMMARY_FILE).exists():
        saved = read_json(model_dir / SUMMARY_FILE)
        return {
            "global_step": saved.get("global_step"),
            "train_loss": (saved.get("metrics") or {}).get("train_loss"),
        }
    has_checkpoint = model_dir.is_dir() and any(model_dir.glob("checkpoint-*"))
    dpo_config = build_config(
        DPOConfig,
        preset=config.dpo_preset,
        model=base,
        data=str(pairs),
        output_dir=str(model_dir),
        progress=config.engine.progress,
        resume=has_checkpoint or None,
        **config.dpo,
    )
    result = train_dpo(dpo_config)
    step, loss = result.global_step, result.metrics.get("train_loss")
    del result
    _free_memory()
    return {"global_step": step, "train_loss": loss}


def checkpoints_to_evaluate(model_dir: Path, final_step: int | None) -> list[Path]:
    """The DPO run's intermediate full-model checkpoints (not the final step, not LoRA-only ones)."""
    found = []
    for folder in sorted(model_dir.glob("checkpoint-*"), key=lambda p: int(p.name.rpartition("-")[2] or 0)):
        step = int(folder.name.rpartition("-")[2] or 0)
        if step != final_step and (folder / "config.json").exists():
            found.append(folder)
    return found


def run_iteration(
    iteration: int,
    base: dict[str, Any],
    config: AlignConfig,
    n_prompts: int,
    say: Callable[[str], None] = _say,
) -> dict[str, Any]:
    """One iteration from ``base`` (``{"name", "model_dir"}``); returns (and writes) its record."""

    folder = Path(config.output_dir) / f"iter_{iteration}"
    if (folder / ITERATION_FILE).exists():
        return read_json(folder / ITERATION_FILE)
    record: dict[str, Any] = {
        "iteration": iteration,
        "name": f"iter_{iteration}",
        "base": base["name"],
        "base_model": base["model_dir"],
        "models": [],
    }
    feedback_dir = folder / "feedback"
    if (feedback_dir / FEEDBACK_SUMMARY).exists():
        feedback = read_json(feedback_dir / FEEDBACK_SUMMARY)
    else:
        say(f"iteration {iteration}: sampling and scoring responses of {base['name']}")
        summary = asyncio.run(
            generate_feedback(
                f"hf:{base['model_dir']}",
                config.judge,
                config.data,
                feedback_dir,
                feedback_options(config, iteration, n_prompts),
                splitter=config.splitter,
                checker=config.checker,
                policy_backend_options=config.model_args,
                judge_backend_options=config.judge_args,
            )
        )
        _free_memory()
        feedback = summary.to_dict()
    unscored = unscored_responses(feedback)
    if unscored is not None:  # also when read back: a rerun must not train on a failed stage's pairs
        _check_failures(
            config, unscored, feedback["n_responses"], "feedback responses", feedback_dir / "candidates.jsonl"
        )
    record["feedback"] = {
        k: feedback.get(k) for k in ("n_prompts", "n_scored", "n_eligible", "n_pairs", "mean_score")
    }
    if not feedback.get("n_pairs"):
        record["note"] = "no preference pairs (responses scored alike): nothing to train"
        write_json(folder / ITERATION_FILE, record)
        return record

    model_dir = folder / "model"
    say(f"iteration {iteration}: DPO on {feedback['n_pairs']} pairs from {base['name']}")
    record["training"] = train_iteration(base["model_dir"], feedback_dir / "pairs.jsonl", model_dir, config)
    candidates = [(f"iter_{iteration}", model_dir, folder / "eval")]
    if config.eval_checkpoints:
        candidates += [
            (f"iter_{iteration}/{ckpt.name}", ckpt, folder / "eval" / "checkpoints" / ckpt.name)
            for ckpt in checkpoints_to_evaluate(model_dir, record["training"]["global_step"])
        ]
    for name, path, eval_dir in candidates:
        say(f"iteration {iteration}: evaluating {name}")
        results = evaluate_model(path, eval_dir, config)
        row = _model_row(name, path, eval_dir, results)
        if path != model_dir:  # an intermediate checkpoint: say how far it had trained
            row["step"] = int(path.name.rpartition("-")[2])
        record["models"].append(row)
    write_json(folder / ITERATION_FILE, record)
    return record


def _model_row(name: str, model_dir: Path, eval_dir: Path, results: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "model_dir": str(model_dir),
        "eval_dir": str(eval_dir),
        "overall": overall(results),
        "dimensions": {k: v.get("mean") for k, v in (results.get("dimensions") or {}).items()},
        "n_failed_judgements": results.get("n_failed_judgements"),
    }


def _check_folder(config: AlignConfig) -> None:
    """Refuse to continue an align folder made with another model, data or judge."""
    path = Path(config.output_dir) / CONFIG_FILE
    if path.exists():
        before = read_json(path)
        changed = [k for k in _FIXED if before.get(k) is not None and before.get(k) != _fixed(config)[k]]
        if changed:
            raise ConfigError(
                f"{config.output_dir} was started with another {', '.join(changed)} "
                f"({', '.join(f'{k}={before[k]!r}' for k in changed)}): use a new --out"
            )
    write_json(path, {**config.to_dict(), **_fixed(config)})


def _fixed(config: AlignConfig) -> dict[str, Any]:
    return {"model": config.model, "data": config.data, "judge": config.judge, "test_data": config.test_data}


def align(config: AlignConfig, *, say: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run (or continue) ``config.iterations`` iterations; returns the summary written to summary.json.

    Args:
        config: What to align, on what, judged by whom.
        say: Where progress messages go (default: stderr).

    Raises:
        ConfigError: Bad options, or the folder belongs to another experiment.
        DataError: Bad prompts or test data.
    """

    say = say or _say
    out = Path(config.output_dir)
    if not Path(config.model).is_dir():
        raise ConfigError(f"--model: {config.model} is not a local model folder (align trains it with DPO)")
    holdout = config.feedback_holdout().holdout()
    n_prompts = len(prompt_slice(config.data, 0, config.feedback.limit, holdout)[0])
    _check_folder(config)
    say(f"evaluating the starting model {config.model}")
    base_results = evaluate_model(Path(config.model), out / "base" / "eval", config)
    rows = [_model_row("base", Path(config.model), out / "base" / "eval", base_results)]
    best = rows[0]
    iterations = []
    for iteration in range(1, config.iterations + 1):
        base = {"name": best["name"], "model_dir": best["model_dir"]}
        record = run_iteration(iteration, base, config, n_prompts, say)
        iterations.append(record)
        for row in record["models"]:
            rows.append({**row, "iteration": iteration, "base": record["base"]})
            if (row["overall"] or float("-inf")) > (best["overall"] or float("-inf")):
                best = row
        say(
            f"iteration {iteration} done; best so far (the next base): {best['name']} (overall {best['overall']})"
        )
    summary = {"best": best, "models": rows, "iterations": iterations, "config": config.to_dict()}
    write_summary(out, summary)
    return summary
