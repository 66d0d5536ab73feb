"""`build run`'s TOML configuration: keys become stage options, and every mistake is one line naming
the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmrole.build.config import read_config
from mmrole.build.filter_options import FilterOptions
from mmrole.build.split import SplitOptions
from mmrole.errors import ConfigError

CURATION = 'stages = ["filter", "split"]\nroot = "data-root"\n'


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "build.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_top_level_keys_reach_every_stage_that_has_them_and_tables_win(tmp_path: Path):
    path = config_file(
        tmp_path,
        CURATION
        + 'judge = "openai:gpt-4o"\nseed = 3\nconcurrency = 8\n'
        + "[filter]\nmin_judge_score = 7\nconcurrency = 2\nrefine = true\ngenerator = 'demo'\n"
        + "[split]\nin_test_per_type = 2\n[estimate]\nimage_tokens = 100\n",
    )
    config = read_config(path)
    assert config.stages == ("filter", "split") and config.root == Path("data-root")
    assert config.options["filter"] == FilterOptions(
        root=Path("data-root"),
        judge="openai:gpt-4o",
        min_judge_score=7.0,
        concurrency=2,
        refine=True,
        generator="demo",
    )
    assert config.options["split"] == SplitOptions(root=Path("data-root"), seed=3, in_test_per_type=2)
    assert config.estimate.image_tokens == 100 and config.estimate.summary_tokens == 600


def test_stages_run_in_the_pipelines_order_whatever_the_files_order(tmp_path: Path):
    config = read_config(config_file(tmp_path, 'stages = ["split", "filter"]\nroot = "r"\n'))
    assert config.stages == ("filter", "split")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            CURATION + "colour = 'red'\n",
            "build.toml: colour: unknown key (no stage of filter, split has such an option)",
        ),
        (
            CURATION + "[filter]\nmin_score = 6\n",
            "build.toml: [filter] min_score: unknown key (no such option in [filter])",
        ),
        (
            CURATION + "[filter]\nmin_judge_score = 'high'\n",
            "build.toml: [filter] min_judge_score: must be a number, not a text 'high'",
        ),
        (
            CURATION + "[split]\nin_test_per_type = 1.5\n",
            "build.toml: [split] in_test_per_type: must be an integer, not a number 1.5",
        ),
        (
            CURATION + "[filter]\nrefine = 1\n",
            "build.toml: [filter] refine: must be true or false, not an integer 1",
        ),
        (CURATION + "seed = true\n", "build.toml: seed: must be an integer, not a boolean True"),
        (
            CURATION + "[filter]\non_judge_error = 'drop'\n",
            "build.toml: [filter] on_judge_error: must be one of 'reject', 'keep', not a text 'drop'",
        ),
        (CURATION + "[filter]\nroot = 3\n", "build.toml: [filter] root: must be a path, not an integer 3"),
        (CURATION + "[colours]\nred = 1\n", "build.toml: [colours]: unknown table"),
        (CURATION + "filter = 3\n", "build.toml: filter: must be a table ([filter]), not an integer"),
        ('stages = ["filter", "polish"]\nroot = "r"\n', "build.toml: stages: unknown stage(s) ['polish']"),
        ("stages = 'filter'\nroot = 'r'\n", "build.toml: stages: must be a list of stage names"),
        (
            'stages = ["split"]\nroot = "r"\n[filter]\njudge = "demo"\n',
            "build.toml: [filter]: the stage is not in stages (split)",
        ),
        ('stages = ["split"]\n', "build.toml: [split] needs root (in the table or at the top level)"),
        (CURATION + "[filter]\nrefine = true\n", "build.toml: [filter] --refine needs --generator"),
        (
            CURATION + "[estimate]\nimage_tokens = 'many'\n",
            "build.toml: [estimate] image_tokens: must be an integer",
        ),
        (CURATION + "[estimate]\nimages = 3\n", "build.toml: [estimate] images: unknown key"),
        ("root = [unclosed\n", "build.toml: not valid TOML: "),
    ],
)
def test_every_mistake_is_one_line_naming_file_and_key(tmp_path: Path, text: str, message: str):
    with pytest.raises(ConfigError) as caught:
        read_config(config_file(tmp_path, text))
    assert str(caught.value).startswith(
        str(tmp_path / message.split(": ", 1)[0]) + ": " + message.split(": ", 1)[1]
    )
    assert "\n" not in str(caught.value)


def test_a_missing_file_is_one_line(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"nowhere\.toml: cannot read: No such file"):
        read_config(tmp_path / "nowhere.toml")
