"""AutoRPEval in a run folder: each stage on its own, and all of them in a row.

    summary = autorpeval_sync(AutoRPEvalOptions(agent=..., simulator=..., evaluator=..., roles=..., run=...))

Stages (:mod:`mmrole.autorpeval.run_folder` keeps their files and records): ``scenarios``
(the role files' chats, or generated ones; or, with ``data``, chats about the images of an
MMRole-Data root: multimodal AutoRPEval), ``dialogues`` (agent and simulator), ``questions``
(the evaluator; then ``results.json`` and the reports). Every call goes through the engine with
the run's ``store.sqlite``: a rerun makes no call twice and a killed run resumes. ``models`` maps
a seat (``agent``, ``simulator``, ``evaluator``, ``generator``) to a Backend instance, which then
stands in for the option's spec (tests pass :class:`mmrole.testing.ScriptedBackend`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mmrole.autorpeval.calls import Calls, Seats
from mmrole.autorpeval.dialogues import DialogueSummary, run_dialogues
from mmrole.autorpeval.evaluate import QuestionSummary, run_questions
from mmrole.autorpeval.mmrole_data import roles_from_mmrole_data
from mmrole.autorpeval.options import (
    AutoRPEvalOptions,
    DialogueOptions,
    QuestionOptions,
    ScenarioOptions,
    require,
    require_source,
)
from mmrole.autorpeval.roles import load_roles
from mmrole.autorpeval.run_folder import AutoRPEvalRun
from mmrole.autorpeval.scenarios import (
    ScenarioSummary,
    generate_feelings,
    generate_scenarios,
    take_scenarios,
)
from mmrole.autorpeval.scene_images import check_images, resolve_images
from mmrole.engine import Store
from mmrole.engine.failures import MaxFailures
from mmrole.errors import DataError
from mmrole.models.base import Backend, GenerationParams, display_spec
from mmrole.run_records import StageInputs, data_source

__all__ = [
    "DEMO_EVALUATOR",
    "AutoRPEvalSummary",
    "autorpeval",
    "autorpeval_sync",
    "dialogues_stage",
    "questions_stage",
    "scenarios_stage",
    "score_run",
]

#: The demo model's settings where it sits: short utterances, short evaluator replies, no re-asks
#: (a 135M model on a CPU decodes slowly and rarely writes BeyondDialogue's JSON; its failures are
#: counted, not re-asked).
DEMO_UTTERANCE_TOKENS = 24
DEMO_EVALUATOR = {"evaluator_max_tokens": 16, "format_retries": 0}


@dataclass
class AutoRPEvalSummary:
    """What a run of the stages did (the stages not run stay None)."""

    run: Path
    scenarios: ScenarioSummary | None = None
    n_roles: int = 0
    n_chats: int = 0
    dialogues: DialogueSummary | None = None
    questions: QuestionSummary | None = None
    results: dict[str, Any] = field(default_factory=dict)
    reports: dict[str, Path] = field(default_factory=dict)
    demo_evaluator: bool = False
    n_image_chats: int = 0
    #: ``--missing-image omit``: why each chat image left out was unusable (one line each).
    images_omitted: list[str] = field(default_factory=list)

    def check_failures(self, max_failures: str | None) -> None:
        """Exit status 1 (TooManyFailures) when a stage failed more than ``--max-failures`` allows,
        each stage counted on its own; None allows none, except the demo evaluator's failed answers
        (the command's preset when ``--max-failures`` is not given with ``--evaluator demo``)."""
        allowed = MaxFailures.parse(max_failures or "0")
        stages = []
        if self.scenarios is not None:
            stages.append((self.scenarios.n_failed, self.scenarios.n_asked, "generated partners", ""))
        if self.dialogues is not None:
            where = str(self.run / "dialogues")
            stages.append((self.dialogues.n_failed, self.dialogues.n_chats, "dialogues", where))
        if self.questions is not None and not (self.demo_evaluator and max_failures is None):
            # Grounding: one more per chat with an image; answers not asked (no label) are no failures.
            not_asked = self.questions.n_not_asked
            asked = self.n_chats * 8 + self.n_image_chats - not_asked
            failed = self.questions.total_failed - not_asked
            stages.append((failed, asked, "answers", str(self.run / "evaluations")))
        allowed.check_stages(stages)


def _is_demo(model: Any) -> bool:
    return (model if isinstance(model, str) else getattr(model, "spec", "")) == "demo"


def _seat(seats: Seats, options: Any, models: Mapping[str, Backend] | None, seat: str) -> Backend:
    """The model of ``seat``: the Backend given in ``models``, else the option's spec with its
    ``--SEAT-arg`` backend options."""
    given = (models or {}).get(seat)
    if given is not None:
        return given
    return seats.get(getattr(options, seat), getattr(options, f"{seat}_args", None) or {})


def _calls(options: Any, store: Store) -> Calls:
    return Calls(store, options.engine.run_kwargs())


async def scenarios_stage(
    options: ScenarioOptions | AutoRPEvalOptions, *, models: Mapping[str, Backend] | None = None
) -> AutoRPEvalSummary:
    """Write the run's scenarios: the role files' chats (their images checked), or (``generate``)
    generated ones; with ``data``, chats about an MMRole-Data root's images (``generate``: their
    emotions and intimacy generated)."""
    require(
        options,
        "run",
        *(("generator",) if options.generate and not (models or {}).get("generator") else ()),
    )
    require_source(options)
    run = AutoRPEvalRun(options.run)  # type: ignore[arg-type]
    names = [n.strip() for n in options.names.split(",") if n.strip()] if options.names else None
    omitted: list[DataError] = []
    on_missing = omitted.append if options.missing_image == "omit" else None
    if options.data:
        roles = roles_from_mmrole_data(options.data, names=names, on_missing=on_missing)
    else:
        roles = load_roles(options.roles, require_chats=not options.generate, names=names)  # type: ignore[arg-type]
        if not options.generate:  # generated chats replace the files' own
            roles = resolve_images(roles, options.images, on_missing=on_missing)
    source = data_source(options.data or options.roles)  # type: ignore[arg-type]
    summary = AutoRPEvalSummary(run.path, images_omitted=[str(err) for err in omitted])
    seats = Seats()
    try:
        generator = _seat(seats, options, models, "generator") if options.generate else None
        spec = display_spec(generator) if generator is not None else "role files"
        chosen: dict[str, Any] = {"limit": options.limit, "names": names, "generate": options.generate}
        if options.images:  # recorded only when given: a text run's inputs stay what they were
            chosen["images"] = data_source(options.images)
        if options.missing_image == "omit":  # likewise
            chosen["missing_image"] = "omit"
        if options.generate:
            chosen.update(partners=options.partners, retries=options.generator_retries)
        with run.lock():
            run.begin(
                "scenarios",
                StageInputs(spec, chosen, source),
                overwrite=options.overwrite,
                summary={"roles": source},
            )
            if generator is None:
                made = take_scenarios(roles, options.limit)
            elif options.data:
                with Store(run.store_path) as store:
                    made, summary.scenarios = await generate_feelings(
                        take_scenarios(roles, options.limit),
                        generator,
                        _calls(options, store),
                        retries=options.generator_retries,
                    )
            else:
                with Store(run.store_path) as store:
                    made, summary.scenarios = await generate_scenarios(
                        roles,
                        generator,
                        _calls(options, store),
                        partners=options.partners,
                        retries=options.generator_retries,
                    )
                made = take_scenarios(made, options.limit)
            counts = {"roles": len(made), "chats": sum(len(role.scenes) for role in made)}
            if omitted:
                counts["images_omitted"] = len(omitted)
            run.finish("scenarios", run.write_roles("scenarios", made), counts)
    finally:
        await seats.aclose()
    summary.n_roles, summary.n_chats = counts["roles"], counts["chats"]
    return summary


def _utterance_params(options: Any, model: Any, temperature: float) -> GenerationParams:
    tokens = options.max_tokens or (DEMO_UTTERANCE_TOKENS if _is_demo(model) else 256)
    return GenerationParams(max_tokens=tokens, temperature=temperature)


async def dialogues_stage(
    options: DialogueOptions | AutoRPEvalOptions, *, models: Mapping[str, Backend] | None = None
) -> AutoRPEvalSummary:
    """Run the dialogues of the run's scenarios."""
    seats_given = {seat: (models or {}).get(seat) for seat in ("agent", "simulator")}
    require(options, "run", *(seat for seat, given in seats_given.items() if given is None))
    run = AutoRPEvalRun(options.run)  # type: ignore[arg-type]
    summary = AutoRPEvalSummary(run.path)
    seats = Seats()
    try:
        with run.lock():
            roles = run.roles("scenarios")
            check_images(roles)  # a missing image is one line now, not a failed chat later
            agent = _seat(seats, options, models, "agent")
            simulator = _seat(seats, options, models, "simulator")
            agent_params = _utterance_params(options, agent, options.agent_temperature)
            simulator_params = _utterance_params(options, simulator, options.simulator_temperature)
            chosen = {
                "simulator": display_spec(simulator),
                "rounds": options.rounds,
                "agent_params": agent_params.to_dict(),
                "simulator_params": simulator_params.to_dict(),
            }
            if options.max_image_side is not None:  # recorded only when given (text runs unchanged)
                chosen["max_image_side"] = options.max_image_side
            run.begin(
                "dialogues",
                StageInputs(display_spec(agent), chosen, run.digest("scenarios")),
                overwrite=options.overwrite,
                summary={"agent": display_spec(agent), "simulator": display_spec(simulator)},
            )
            with Store(run.store_path) as store:
                done, summary.dialogues = await run_dialogues(
                    roles,
                    agent,
                    simulator,
                    _calls(options, store),
                    rounds=options.rounds,
                    agent_params=agent_params,
                    simulator_params=simulator_params,
                    max_image_side=options.max_image_side,
                )
            run.finish("dialogues", run.write_roles("dialogues", done), asdict(summary.dialogues))
    finally:
        await seats.aclose()
    summary.n_roles, summary.n_chats = len(done), summary.dialogues.n_chats
    return summary


async def questions_stage(
    options: QuestionOptions | AutoRPEvalOptions, *, models: Mapping[str, Backend] | None = None
) -> AutoRPEvalSummary:
    """Ask the evaluator the eight questions about the run's dialogues; write results and reports."""
    require(options, "run", *(() if (models or {}).get("evaluator") else ("evaluator",)))
    run = AutoRPEvalRun(options.run)  # type: ignore[arg-type]
    summary = AutoRPEvalSummary(run.path)
    seats = Seats()
    try:
        with run.lock():
            roles = run.roles("dialogues")
            check_images(roles)
            evaluator = _seat(seats, options, models, "evaluator")
            demo = DEMO_EVALUATOR if _is_demo(evaluator) else {}
            tokens = options.evaluator_max_tokens or demo.get("evaluator_max_tokens") or 2048
            retries = (
                options.format_retries
                if options.format_retries is not None
                else demo.get("format_retries", 2)
            )
            params = GenerationParams(max_tokens=tokens, temperature=0.0)
            chosen: dict[str, Any] = {"params": params.to_dict(), "format_retries": retries}
            if options.max_image_side is not None:
                chosen["max_image_side"] = options.max_image_side
            run.begin(
                "questions",
                StageInputs(display_spec(evaluator), chosen, run.digest("dialogues")),
                overwrite=options.overwrite,
                summary={"evaluator": display_spec(evaluator)},
            )
            with Store(run.store_path) as store:
                done, summary.questions = await run_questions(
                    roles,
                    evaluator,
                    _calls(options, store),
                    params=params,
                    format_retries=retries,
                    max_image_side=options.max_image_side,
                )
            counts = {**asdict(summary.questions), "failed": summary.questions.total_failed}
            run.finish("questions", run.write_roles("questions", done), counts)
            summary.results, summary.reports = _score(run, getattr(options, "name", None))
    finally:
        await seats.aclose()
    summary.n_roles, summary.n_chats = len(done), sum(len(role.scenes) for role in done)
    summary.n_image_chats = sum(1 for role in done for scene in role.scenes if scene.image is not None)
    summary.demo_evaluator = _is_demo(evaluator)
    return summary


def _score(run: AutoRPEvalRun, name: str | None) -> tuple[dict[str, Any], dict[str, Path]]:
    from mmrole.autorpeval.report import write_run_reports
    from mmrole.autorpeval.results import results_of

    if name:
        run.set_name(name)
    info = run.info()
    about = {key: info.get(key) for key in ("agent", "simulator", "evaluator")}
    results = results_of(run.roles("questions"), {"name": run.name(), **about})
    run.write_results(results)
    return results, write_run_reports(run)


def score_run(run_dir: str | Path, *, name: str | None = None) -> tuple[dict[str, Any], dict[str, Path]]:
    """Recompute ``results.json`` and the reports of a run's evaluations (no model calls)."""
    run = AutoRPEvalRun(run_dir)
    with run.lock():
        return _score(run, name)


async def autorpeval(
    options: AutoRPEvalOptions, *, models: Mapping[str, Backend] | None = None
) -> AutoRPEvalSummary:
    """Every stage in a row: scenarios, dialogues, questions (then results and reports). Failures are
    counted, never fatal here: :meth:`AutoRPEvalSummary.check_failures` judges them at the end."""
    given = models or {}
    require(options, "run", *(seat for seat in ("agent", "simulator", "evaluator") if seat not in given))
    require_source(options)
    first = await scenarios_stage(options, models=models)
    second = await dialogues_stage(options, models=models)
    third = await questions_stage(options, models=models)
    third.scenarios, third.dialogues = first.scenarios, second.dialogues
    third.images_omitted = first.images_omitted
    return third


def autorpeval_sync(options: AutoRPEvalOptions, **kwargs: Any) -> AutoRPEvalSummary:
    """:func:`autorpeval` from synchronous code."""
    return asyncio.run(autorpeval(options, **kwargs))
