"""``--max-failures N|FRACTION``: one parser, Inspect's fail-on-error semantics."""

from __future__ import annotations

import pytest

from mmrole.engine.failures import MaxFailures, TooManyFailures
from mmrole.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "failed", "total", "exceeded"),
    [
        (None, 0, 10, False),
        ("0", 1, 1000, True),  # the default: any failure
        ("3", 3, 10, False),
        ("3", 4, 10, True),
        ("0.1", 10, 100, False),  # a share: not more than 10%
        ("0.1", 11, 100, True),
        (" 0.5 ", 0, 0, False),
        (2, 3, 5, True),
    ],
)
def test_counts_and_shares(text, failed, total, exceeded):
    assert MaxFailures.parse(text).exceeded(failed, total) is exceeded


@pytest.mark.parametrize("bad", ["-1", "1.5", "0.0", "1.0", "ten", "", "nan", "inf"])
def test_anything_else_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="--max-failures"):
        MaxFailures.parse(bad)


def test_check_names_each_stage_over_the_limit():
    limit = MaxFailures.parse("0.25")
    with pytest.raises(TooManyFailures) as over:
        limit.check_stages([(1, 8, "answers", "a.jsonl"), (5, 8, "judgements", "r.jsonl")])
    assert str(over.value) == "5 of 8 judgements failed (see r.jsonl): more than --max-failures 0.25 allows"
    assert over.value.exit_code == 1
    limit.check(2, 8, "answers")  # within: nothing raised
