"""Whether runs are like for like: the same judge, asked the same way, on the same samples.

Two runs' scores are comparable only when one judge with one set of options scored the same
samples. :func:`provenance_warnings` compares the provenance of several runs (pure: no I/O)
and names every difference, in words a reader can act on; ``compare``, ``leaderboard`` and
``report`` print its lines and put them in their Markdown and HTML output.

    runs = [provenance_of("runs/a", info_a, samples_a), provenance_of("runs/b", info_b, samples_b)]
    provenance_warnings(runs)
    # ["runs/a was judged by openai:gpt-4o, runs/b by demo",
    #  "runs/a covers in-test+out-test, runs/b only in-test",
    #  "runs/b has 216 of runs/a's 294 samples"]

The first run is the reference the others are measured against (run A of ``compare``, the
first folder given to ``leaderboard`` and ``report``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from mmrole.schema import SPLIT_NAMES, SPLITS, Sample

#: Labels of one group shown before "and N more".
_SHOWN = 3


@dataclass(frozen=True)
class Provenance:
    """What produced a run's scores.

    Attributes:
        label: How messages name the run (its folder as the user gave it).
        judge: The judge's spec ("" when run.json records none).
        judge_options: The options the judge ran with; None when unrecorded (imported reviews).
        samples: Each sample's split, by sample id.
    """

    label: str
    judge: str
    judge_options: Mapping[str, Any] | None
    samples: Mapping[str, str]

    @property
    def splits(self) -> tuple[str, ...]:
        """The splits the run has samples in, known ones in :data:`~mmrole.schema.SPLITS` order."""
        present = set(self.samples.values())
        return tuple(s for s in SPLITS if s in present) + tuple(sorted(present - set(SPLITS)))


def _spec(value: Any) -> str:
    if isinstance(value, Mapping):
        return str(value.get("spec") or value.get("name") or "")
    return "" if value is None else str(value)


def provenance_of(label: str, info: Mapping[str, Any], samples: Iterable[Sample]) -> Provenance:
    """A run's provenance from its ``run.json`` content and its samples.

    The one place that knows where run.json keeps the judge: ``judge`` (a spec, or an object
    with ``spec`` and optionally ``options``) and ``judge_options``.
    """
    judge = info.get("judge")
    options = judge.get("options") if isinstance(judge, Mapping) else None
    if options is None:
        options = info.get("judge_options")
    return Provenance(
        label=label,
        judge=_spec(judge),
        judge_options=dict(options) if isinstance(options, Mapping) else None,
        samples={sample.id: sample.split for sample in samples},
    )


def _labels(labels: Sequence[str]) -> str:
    shown = list(labels[:_SHOWN])
    if len(labels) > _SHOWN:
        return f"{', '.join(shown)} and {len(labels) - _SHOWN} more"
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


_Key = TypeVar("_Key", bound=Hashable)


def _groups(runs: Sequence[Provenance], key: Callable[[Provenance], _Key]) -> list[tuple[_Key, list[str]]]:
    """Runs grouped by ``key``, groups in the order their first run comes."""
    groups: dict[_Key, list[str]] = {}
    for run in runs:
        groups.setdefault(key(run), []).append(run.label)
    return list(groups.items())


def _judges(runs: Sequence[Provenance]) -> str | None:
    groups = _groups(runs, lambda r: r.judge)
    if len(groups) < 2:
        return None
    parts = [
        f"{_labels(labels)} {'was' if len(labels) == 1 else 'were'} judged by {judge or 'an unrecorded judge'}"
        if index == 0
        else f"{_labels(labels)} by {judge or 'an unrecorded judge'}"
        for index, (judge, labels) in enumerate(groups)
    ]
    return ", ".join(parts)


def _frozen(value: Any) -> Hashable:
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _frozen(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value if isinstance(value, Hashable) else repr(value)


def _show(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _options_of(run: Provenance, keys: Sequence[str]) -> Hashable:
    return tuple(_frozen((run.judge_options or {}).get(k)) for k in keys)


def _options_differ(runs: Sequence[Provenance]) -> str | None:
    """Which options differ among runs of one judge, and how each group of runs had them."""
    options = [r.judge_options or {} for r in runs]
    keys = sorted({k for o in options for k in o})
    differing = [k for k in keys if len({_frozen(o.get(k)) for o in options}) > 1]
    if not differing:
        return None
    parts = []
    for index, (_, labels) in enumerate(_groups(runs, lambda r: _options_of(r, differing))):
        first = next(r for r in runs if r.label == labels[0]).judge_options or {}
        described = ", ".join(f"{k}={_show(first.get(k))}" for k in differing)
        verb = f"{'was' if len(labels) == 1 else 'were'} judged with" if index == 0 else "with"
        parts.append(f"{_labels(labels)} {verb} {described}")
    return "; ".join(parts)


def _judge_options(runs: Sequence[Provenance]) -> str | None:
    """Options that differ among runs of the same judge (runs with unrecorded options are skipped)."""
    known = [r for r in runs if r.judge_options is not None]
    messages = []
    for judge, _labels_of_judge in _groups(known, lambda r: r.judge):
        message = _options_differ([r for r in known if r.judge == judge])
        if message:
            messages.append(message)
    return "; ".join(messages) or None


def _split_text(splits: tuple[str, ...]) -> str:
    return "+".join(SPLIT_NAMES.get(s, s).lower() for s in splits) or "no samples"


def _splits(runs: Sequence[Provenance]) -> str | None:
    groups = _groups(runs, lambda r: r.splits)
    if len(groups) < 2:
        return None
    reference = set(groups[0][0])
    parts = []
    for index, (splits, labels) in enumerate(groups):
        verb = "covers" if len(labels) == 1 else "cover"
        if index > 0 and set(splits) < reference:
            verb = "only"
        parts.append(f"{_labels(labels)} {verb} {_split_text(splits)}")
    return ", ".join(parts)


def _samples(reference: Provenance, run: Provenance) -> str | None:
    ours, theirs = set(reference.samples), set(run.samples)
    if ours == theirs:
        return None
    shared, extra = len(ours & theirs), len(theirs - ours)
    text = f"{run.label} has {shared} of {reference.label}'s {len(ours)} samples"
    return text + (f" and {extra} that {reference.label} lacks" if extra else "")


def provenance_warnings(runs: Sequence[Provenance]) -> list[str]:
    """Every way the runs are not like for like, one line each; [] when they are.

    Compares the judges, the options of runs judged by the same judge, the splits covered,
    and each run's sample ids against the first run's.
    """
    if len(runs) < 2:
        return []
    found = [_judges(runs), _judge_options(runs), _splits(runs)]
    found += [_samples(runs[0], run) for run in runs[1:]]
    return [line for line in found if line]
