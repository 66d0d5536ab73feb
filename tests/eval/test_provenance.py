"""The like-for-like check of runs: one pure function naming every difference of judge, options, splits, samples."""

from __future__ import annotations

from mmrole.eval.provenance import Provenance, provenance_of, provenance_warnings
from mmrole.schema import Sample

IN, OUT = "in-distribution", "out-of-distribution"
OPTIONS = {"metrics": ["Fluency", "Coherency"], "swap": False, "repeats": 1, "scoring": "sampled"}


def _run(
    label: str, *, judge: str = "openai:rm", options: dict | None = None, n_in: int = 216, n_out: int = 0
):
    samples = {f"s{i}": IN for i in range(n_in)} | {f"o{i}": OUT for i in range(n_out)}
    return Provenance(label, judge, OPTIONS if options is None else options, samples)


def test_like_for_like_runs_give_no_warning() -> None:
    assert provenance_warnings([_run("runs/a"), _run("runs/b"), _run("runs/c")]) == []
    assert provenance_warnings([_run("runs/a", judge="x")]) == []  # one run: nothing to compare
    assert provenance_warnings([]) == []


def test_different_judges_are_named() -> None:
    warnings = provenance_warnings([_run("runs/a", judge="openai:gpt-4o"), _run("runs/b", judge="demo")])
    assert warnings == ["runs/a was judged by openai:gpt-4o, runs/b by demo"]
    unrecorded = provenance_warnings([_run("runs/a"), _run("runs/b", judge="")])
    assert unrecorded == ["runs/a was judged by openai:rm, runs/b by an unrecorded judge"]


def test_many_runs_are_grouped_by_judge() -> None:
    runs = [_run(f"runs/{n}") for n in "abcde"] + [_run("runs/f", judge="demo")]
    assert provenance_warnings(runs) == [
        "runs/a, runs/b, runs/c and 2 more were judged by openai:rm, runs/f by demo"
    ]


def test_fewer_and_other_samples_are_counted_against_the_first_run() -> None:
    assert provenance_warnings([_run("runs/a"), _run("runs/b", n_in=180)]) == [
        "runs/b has 180 of runs/a's 216 samples"
    ]
    other = Provenance(
        "runs/c", "openai:rm", OPTIONS, {f"s{i}": IN for i in range(200)} | {"x1": IN, "x2": IN}
    )
    assert provenance_warnings([_run("runs/a"), other]) == [
        "runs/c has 200 of runs/a's 216 samples and 2 that runs/a lacks"
    ]


def test_different_splits_are_named() -> None:
    warnings = provenance_warnings([_run("runs/a", n_out=78), _run("runs/b")])
    assert warnings[0] == "runs/a covers in-test+out-test, runs/b only in-test"
    # the split coverage explains the sample count, which is still given
    assert warnings[1] == "runs/b has 216 of runs/a's 294 samples"
    disjoint = provenance_warnings([_run("runs/a", n_in=0, n_out=78), _run("runs/b")])
    assert disjoint[0] == "runs/a covers out-test, runs/b covers in-test"


def test_judge_options_that_differ_are_named_for_runs_of_one_judge() -> None:
    swapped = OPTIONS | {"swap": True, "repeats": 3}
    warnings = provenance_warnings([_run("runs/a"), _run("runs/b", options=swapped)])
    assert warnings == ["runs/a was judged with repeats=1, swap=False; runs/b with repeats=3, swap=True"]
    fewer = OPTIONS | {"metrics": ["Fluency"]}
    assert provenance_warnings([_run("runs/a"), _run("runs/b", options=fewer)]) == [
        "runs/a was judged with metrics=Fluency,Coherency; runs/b with metrics=Fluency"
    ]


def test_unrecorded_options_and_other_judges_options_are_not_compared() -> None:
    # Imported reviews record no options: no options line (the judge line says enough elsewhere).
    assert (
        provenance_warnings([_run("runs/a"), Provenance("runs/b", "openai:rm", None, _run("x").samples)])
        == []
    )
    # Different judges: the judge line, not a second line about their options.
    other = _run("runs/b", judge="demo", options=OPTIONS | {"prefill": "[Scores]: ("})
    assert provenance_warnings([_run("runs/a"), other]) == ["runs/a was judged by openai:rm, runs/b by demo"]


def _sample(sample_id: str, split: str) -> Sample:
    return Sample(
        id=sample_id,
        type="comment",
        split=split,
        role="Iron Man",
        script="The Avengers",
        other_role="a curious human",
        system="s",
        image="x.png",
        instruction="q",
        reference="r",
    )


def test_provenance_of_reads_a_spec_string_or_object() -> None:
    samples = [_sample("a", IN), _sample("b", OUT)]
    plain = provenance_of("runs/a", {"judge": "openai:rm", "judge_options": {"swap": True}}, samples)
    assert (plain.judge, plain.judge_options, plain.splits) == ("openai:rm", {"swap": True}, (IN, OUT))
    assert plain.samples == {"a": IN, "b": OUT}
    nested = provenance_of("runs/b", {"judge": {"spec": "openai:rm", "options": {"swap": True}}}, samples)
    assert (nested.judge, nested.judge_options) == ("openai:rm", {"swap": True})
    empty = provenance_of("runs/c", {}, [])
    assert (empty.judge, empty.judge_options, empty.splits) == ("", None, ())
