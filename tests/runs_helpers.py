"""Run folders for the run-folder tests: tiny samples, and an agent and judges whose every reply
says who wrote it and which prompt it answers, so a test can tell whose files a folder holds."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

from PIL import Image

from mmrole.models.base import last_user_text
from mmrole.runs import RunFolder
from mmrole.schema import METRICS

N_SAMPLES = 3
REFERENCE_SCORE = 8


def write_samples(
    folder: Path, n: int = N_SAMPLES, *, first_image: tuple[int, int] = (8, 8), reference: str | None = None
) -> Path:
    """A samples JSONL with an images/ folder beside it: sample i's image is ``first_image`` plus i
    pixels wide (each its own size and bytes); its reference is ``reference``, else "reference i"."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    width, height = first_image
    lines = []
    for i in range(n):
        Image.new("RGB", (width + i, height), (40 * i, 0, 0)).save(folder / "images" / f"im{i}.png")
        lines.append(
            {
                "id": f"Iron_Man_comment_{i}",
                "image": f"im{i}.png",
                "system": "You are a role-playing assistant.",
                "instruction": f"Please step into the shoes of Iron Man. Question {i}.",
                "reference": f"reference {i}" if reference is None else reference,
                "role": "Iron Man",
                "script": "The Avengers",
                "other_role": "a curious human",
                "type": "comment",
            }
        )
    path = folder / "samples.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def digest(prompt: str) -> str:
    """How a reply names the prompt it answers."""
    return hashlib.sha1(prompt.encode()).hexdigest()[:12]


def agent(name: str):
    """An MRPA whose answers name it: ``NAME answers #PROMPT``."""
    return lambda messages: f"{name} answers #{digest(last_user_text(messages))}"


def judge(name: str, mrpa_score: int):
    """A judge that names itself and scores every MRPA answer ``mrpa_score`` out of the reference's 8."""
    return lambda messages: (
        f"{name} reviewed #{digest(last_user_text(messages))}. [Scores]: ({mrpa_score}, {REFERENCE_SCORE})"
    )


def prompt_of(text: str) -> str:
    """The prompt digest a stored reply names."""
    return text.split("#", 1)[1][:12]


def report_overall(run: Path) -> float:
    """The overall mean report.csv shows."""
    with (run / "report.csv").open(encoding="utf-8") as handle:
        row = next(r for r in csv.DictReader(handle) if r["section"] == "all" and r["kind"] == "overall")
    return float(row["mean"])


def assert_consistent(
    run: Path,
    *,
    agent_spec: str,
    judge_spec: str | None = None,
    mrpa_score: int | None = None,
    reports: bool = False,
) -> None:
    """The folder is what run.json says: the answers of ``agent_spec``, judged by ``judge_spec``
    (each review written by it, the results and the reports of those reviews), or not judged."""
    folder = RunFolder(run)
    assert folder.problems() == []
    info = folder.info()
    agent_name = agent_spec.split(":", 1)[1].split("@")[0]
    assert info["agent"] == agent_spec
    answers = folder.answers()
    assert list(answers) == [s.id for s in folder.samples()]
    assert all(
        a["error"] is None and a["answer"].startswith(f"{agent_name} answers") for a in answers.values()
    )
    if judge_spec is None:
        assert "judge" not in info and not folder.is_judged()
        assert not any(
            (run / name).exists() for name in ("reviews.jsonl", "results.json", "report.md", "report_files")
        )
        return
    judge_name = judge_spec.split(":", 1)[1].split("@")[0]
    assert info["judge"] == judge_spec
    reviews = folder.reviews()
    assert len(reviews) == len(answers) * len(METRICS)
    assert all(r["text"].startswith(f"{judge_name} reviewed") for r in reviews)
    results = folder.results()
    assert results["run"]["judge"] == judge_spec and results["run"]["agent"] == agent_spec
    assert results["overall"]["mean"] == mrpa_score / REFERENCE_SCORE
    if reports:
        assert report_overall(run) == results["overall"]["mean"]
        markdown = (run / "report.md").read_text(encoding="utf-8")
        assert f"agent `{agent_spec}`, judge `{judge_spec}`" in markdown
        # The page's browser data holds these reviews and answers, and nothing of earlier reports.
        page = (run / "report.html").read_text(encoding="utf-8")
        config = json.loads(page.split('id="report-config">', 1)[1].split("</script>", 1)[0])
        data_files = {config["samples"]["file"], *(r["file"] for r in config["runs"])}
        assert {f"report_files/{p.name}" for p in (run / "report_files").iterdir()} == data_files
        (run_file,) = [run / r["file"] for r in config["runs"]]
        data = run_file.read_text(encoding="utf-8")
        assert data.count(f"{judge_name} reviewed") == len(reviews) and f"{agent_name} answers" in data
