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
        task = ("The task instruction of the two models is to directly role-play as ROLE_SCRIPT and talk with "
                "OTHER_SCRIPT about the given image using the distinctive tone, manner and vocabulary of ROLE.")
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
