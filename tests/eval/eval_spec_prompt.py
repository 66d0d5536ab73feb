"""An independent reading of the judge prompt spec (JUDGE_PROMPT.md), for honest end-to-end tests.

Nothing here imports mmrole's prompt code: the system text, the eight metric sentences and
the user template are read from the spec document itself and filled by its own rules, so
a test server keyed on these texts only answers byte-exact prompts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from mmrole.eval.importer import import_released
from mmrole.models.base import last_user_text

TYPES = ("comment", "human-role", "inter-role")


@dataclass(frozen=True)
class PromptSpec:
    system: str
    aspects: dict[str, str]  # metric name -> sentence with ROLE / THE_OTHER placeholders
    template: str  # user text with QUESTION / A / B / TASK / ASPECT lines

    def user_text(self, record: dict, metric: str, *, swapped: bool = False) -> str:
        role, script, other = record["role"], record["script"], record["other_role"]

        def with_script(name: str) -> str:
            if script == "Hypothetical Characters":
                return f"{name}, a person who is one of the Hypothetical Characters,"
            return f"{name} from {script}"

        human = other == "a curious human"
        names = {
            "ROLE_SCRIPT": with_script(role),
            "OTHER_SCRIPT": other if human else with_script(other),
            "THE_OTHER": "the curious human" if human else other,
            "ROLE": role,
        }
        fill = re.compile("|".join(sorted(names, key=len, reverse=True)))
        task = (
            "The task instruction of the two models is to directly role-play as ROLE_SCRIPT and talk with "
            "OTHER_SCRIPT about the given image using the distinctive tone, manner and vocabulary of ROLE."
        )
        answer, reference = record["conversations"][1]["answer"], record["conversations"][1]["value"]
        values = {
            "QUESTION": record["conversations"][0]["value"],
            "A": reference if swapped else answer,
            "B": answer if swapped else reference,
            "TASK": fill.sub(lambda m: names[m.group(0)], task),
            "ASPECT": fill.sub(lambda m: names[m.group(0)], self.aspects[metric]),
        }
        return re.sub(r"(?<=\n)(QUESTION|A|B|TASK|ASPECT)(?=\n)", lambda m: values[m.group(1)], self.template)


def read_spec(path: Path) -> PromptSpec:
    text = path.read_text(encoding="utf-8")
    system = re.search(r"## System text\n`([^`]+)`", text).group(1)
    aspects = {}
    for sentence in re.findall(r"^\d\. `([^`]+)`$", text, flags=re.MULTILINE):
        aspects[sentence.split(":", 1)[0]] = sentence
    body = re.search(r"\n~~~\n(.*?)\n~~~\n", text, flags=re.DOTALL).group(1)
    assert "\n" not in body  # the spec writes the template on one line with literal \n
    # The TASK sentence in the spec names the derived names; check ours is the spec's.
    assert "`TASK` = `The task instruction of the two models is to directly role-play as ROLE_SCRIPT" in text
    return PromptSpec(system=system, aspects=aspects, template=body.replace("\\n", "\n"))


def released_records(file: Path) -> list[dict]:
    return json.loads(file.read_text(encoding="utf-8"))


def strip_reviews(records: list[dict]) -> list[dict]:
    """The records as an answers file (what an MRPA's answers look like before judging)."""
    return [{k: v for k, v in r.items() if k != "rm_review"} for r in records]


class ReviewServer:
    """Serves released reviews by exact prompt; counts what it could not answer."""

    def __init__(self, spec: PromptSpec):
        self.spec = spec
        self.reviews: dict[str, str] = {}
        self.unknown: list[str] = []

    def add_model(self, records: list[dict]) -> None:
        for record in records:
            for metric, review in record.get("rm_review", {}).items():
                self.reviews[self.spec.user_text(record, metric)] = review["review"]

    def __call__(self, messages: list[dict]) -> str:
        system = messages[0]
        if system.get("role") != "system" or system.get("content") != self.spec.system:
            self.unknown.append("system")
            return "wrong system text"
        text = last_user_text(messages)
        if text not in self.reviews:
            self.unknown.append(text[:200])
            return "I do not know this prompt."
        return self.reviews[text]


def answers_run(
    model_dir: Path, tmp_path: Path, types: tuple[str, ...] = TYPES, limit: int | None = None
) -> tuple[Path, list[dict]]:
    """Write the model's released files without reviews (an answers folder) and import them.

    Returns the run folder and the released records (with their reviews) that went in.
    """
    folder = tmp_path / model_dir.name / "answers"
    folder.mkdir(parents=True)
    records = []
    for kind in types:
        released = released_records(model_dir / f"{kind}_test.reviews.json")[:limit]
        records += released
        (folder / f"{kind}_test.json").write_text(json.dumps(strip_reviews(released), ensure_ascii=False))
    run = tmp_path / model_dir.name / "run"
    import_released(folder, name=model_dir.name, run_dir=run)
    return run, records
