"""``mmrole eval``: answer + judge + report in one call.

The demo judge's settings (``--judge demo``) and the demo agent's answer cap are the demo
preset of :mod:`mmrole.eval.presets`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mmrole.engine.options import EngineOptions
from mmrole.eval.answer import answer_dataset
from mmrole.eval.judge import JudgeSummary, judge_run
from mmrole.eval.judge_plan import JudgeOptions
from mmrole.eval.presets import DEMO_ANSWER_MAX_TOKENS, DEMO_JUDGE, is_demo
from mmrole.eval.report import write_folder_reports
from mmrole.eval.report.data import run_data
from mmrole.models.base import GenerationParams
from mmrole.models.registry import load_backend
from mmrole.runs import RunFolder


def judge_options_for(judge: Any, given: dict[str, Any]) -> JudgeOptions:
    """Judge options from the user's explicit settings; unset ones take the demo preset for the demo judge.

    Args:
        judge: The judge spec or backend.
        given: Options the user set (None values count as not set).
    """
    chosen = {k: v for k, v in given.items() if v is not None}
    if is_demo(judge):
        chosen = {**DEMO_JUDGE, **chosen}
    return JudgeOptions(**chosen)


@dataclass
class EvalSummary:
    """What ``mmrole eval`` did: the answer and judge summaries and the report files."""

    run_dir: Path
    answer: Any
    judge: JudgeSummary
    reports: dict[str, Path]
    demo: bool


async def evaluate(
    agent: Any,
    judge: Any,
    data: str | Path,
    run_dir: str | Path,
    *,
    judge_options: JudgeOptions | None = None,
    answer_options: dict[str, Any] | None = None,
    engine: EngineOptions | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    report: bool = True,
    overwrite: bool = False,
    agent_backend_options: dict[str, Any] | None = None,
    judge_backend_options: dict[str, Any] | None = None,
    image_root: str | Path | None = None,
) -> EvalSummary:
    """Answer ``data`` with ``agent``, judge the answers with ``judge``, write the reports.

    Args:
        agent: The MRPA (spec or backend).
        judge: The judge (spec or backend).
        data: What :func:`mmrole.data.load_samples` takes (``demo``, a test folder...).
        run_dir: The run folder; rerunning resumes from its store.
        judge_options: How to judge (default: MMRole's, or the demo preset for the demo judge).
        answer_options: Passed to :func:`mmrole.eval.answer.answer_dataset` (``limit``,
            ``params``, ``missing_image``...); a demo agent's answers are capped at
            :data:`~mmrole.eval.presets.DEMO_ANSWER_MAX_TOKENS` tokens unless ``params`` is given.
        engine: Concurrency, retries, rate limit, timeout and progress of the answer and judge calls.
        n_boot, seed: Bootstrap replicates and seed of the confidence intervals.
        report: Write report.md/.csv/.html into the run folder at the end.
        overwrite: Start answering and judging afresh when the folder holds a run made with
            another agent, judge, data or options (otherwise that is refused).
        agent_backend_options, judge_backend_options: The backends' options when ``agent`` or
            ``judge`` is a spec (``--agent-arg``, ``--judge-arg``).
        image_root: Where the samples' images are, for the answering and the judging alike.

    Raises:
        ConfigError: The folder holds a run made with other inputs (and ``overwrite`` is not
            set), or another process is using it.
    """

    answer_options = dict(answer_options or {})
    if is_demo(agent) and "params" not in answer_options:
        answer_options["params"] = GenerationParams(max_tokens=DEMO_ANSWER_MAX_TOKENS)
    if judge_options is None:
        judge_options = judge_options_for(judge, {})
    if judge_options.missing_image == "error" and answer_options.get("missing_image") == "omit":
        judge_options = replace(judge_options, missing_image="omit")  # consistent with the answering
    folder = RunFolder(run_dir)
    reports: dict[str, Path] = {}
    with folder.lock():  # held from the answers to the reports; a second process stops at once
        shared = None
        agent_args, judge_args = dict(agent_backend_options or {}), dict(judge_backend_options or {})
        if isinstance(agent, str) and agent == judge and agent_args == judge_args:
            shared = agent = judge = load_backend(agent, **agent_args)  # one model in memory for both roles
            agent_args = judge_args = {}
        try:
            answered = await answer_dataset(
                agent,
                data,
                run_dir,
                engine=engine,
                overwrite=overwrite,
                image_root=image_root,
                backend_options=agent_args,
                **answer_options,
            )
            # The samples and answers just written are judged as they are held, not read back.
            answers = {str(a["id"]): a for a in answered.answers}
            judged = await judge_run(
                run_dir,
                judge,
                judge_options,
                image_root=image_root,
                engine=engine,
                n_boot=n_boot,
                seed=seed,
                overwrite=overwrite,
                backend_options=judge_args,
                records=(answered.samples, answers),
            )
        finally:
            if shared is not None:
                await shared.aclose()
        if report and folder.reports_current():  # judging rewrote the folder's reports
            reports = folder.report_paths()
        elif report:
            run = run_data(folder, folder.info(), answered.samples, answers, judged.reviews, judged.results)
            reports = write_folder_reports(run)
    return EvalSummary(Path(run_dir), answered, judged, reports, is_demo(judge))


def evaluate_sync(
    agent: Any, judge: Any, data: str | Path, run_dir: str | Path, **kwargs: Any
) -> EvalSummary:
    """:func:`evaluate` from synchronous code."""
    import asyncio

    return asyncio.run(evaluate(agent, judge, data, run_dir, **kwargs))
