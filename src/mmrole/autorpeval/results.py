"""``results.json`` of an AutoRPEval run: the metrics of its evaluated roles, and reading them back.

    {"kind": "autorpeval", "name": ..., "agent": ..., "simulator": ..., "evaluator": ...,
     "tables": {"cn": {...}, "en": {...}, "all": {...}},      # mmrole.autorpeval.metrics, as fractions
     "roles": {"cn": [names], "en": [names]}}

Each table holds, per metric (the eight, and Grounding when some chat had an image), the mean, the SEM, the units (chats or roles) and the chats whose
answer failed, and ``avg``. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mmrole.autorpeval.metrics import POOLED, EvaluatedRole, LanguageScores, MetricScore, score_roles
from mmrole.autorpeval.questions import GROUNDING, QUESTIONS
from mmrole.autorpeval.roles import Role
from mmrole.errors import DataError

__all__ = ["evaluated_role", "results_of", "tables_of"]


def evaluated_role(role: Role) -> EvaluatedRole:
    """What the metrics need of an evaluated role (its chats as the file holds them)."""
    return EvaluatedRole(
        name=role.name,
        language=role.language,
        traits=role.traits,
        style=role.style,
        mbti=role.mbti,
        answer=role.answer,
        chats=[role.chat(scene.partner) for scene in role.scenes],
    )


def results_of(roles: Iterable[Role], about: Mapping[str, Any]) -> dict[str, Any]:
    """``results.json``'s content for evaluated ``roles``; ``about`` names the run and its models."""
    roles = list(roles)
    tables = score_roles(evaluated_role(role) for role in roles)
    listed: dict[str, list[str]] = {}
    for role in roles:
        listed.setdefault(role.language, []).append(role.name)
    return {
        "kind": "autorpeval",
        **dict(about),
        "tables": {language: table.to_dict() for language, table in tables.items()},
        "roles": listed,
    }


def _score(data: Any, where: str) -> MetricScore:
    if not isinstance(data, dict):
        raise DataError("must be an object", field=where)
    return MetricScore(
        mean=data.get("mean"),
        sem=data.get("sem"),
        unit=str(data.get("unit", "")),
        values=tuple(float(value) for value in data.get("values") or ()),
        failed=int(data.get("failed") or 0),
    )


def tables_of(results: Mapping[str, Any], *, file: str = "results.json") -> dict[str, LanguageScores]:
    """The tables of a ``results.json`` (per language and ``all``).

    Raises:
        DataError: The file is not an AutoRPEval results file.
    """
    tables = results.get("tables")
    if results.get("kind") != "autorpeval" or not isinstance(tables, dict) or POOLED not in tables:
        raise DataError("not AutoRPEval results (no 'tables')", file=file)
    found = {}
    for language, table in tables.items():
        try:
            # Grounding is there when the run had images (multimodal AutoRPEval).
            names = (*QUESTIONS, *((GROUNDING,) if GROUNDING in table["metrics"] else ()))
            metrics = {name: _score(table["metrics"][name], f"tables.{language}.{name}") for name in names}
            avg = table.get("avg") or {}
            found[language] = LanguageScores(
                language=language,
                n_roles=int(table.get("n_roles") or 0),
                n_chats=int(table.get("n_chats") or 0),
                metrics=metrics,
                avg=MetricScore(avg.get("mean"), avg.get("sem"), "avg"),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise DataError(f"malformed table: {err}", file=file, field=f"tables.{language}") from None
        except DataError as err:
            raise DataError(err.reason, file=file, field=err.field) from None
    return found
