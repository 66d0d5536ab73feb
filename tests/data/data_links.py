"""A data root with symbolic links out of it, and links that stay inside, for the path-safety tests."""

from __future__ import annotations

import json
from pathlib import Path

from mmrole.data import load_samples
from mmrole.data.qwen import sample_to_qwen
from mmrole.data.sources import copy_demo

#: Text of files outside the data root: it must never come out of a loader.
OUTSIDE_TEXT = "OUTSIDE-TEXT-never-loaded-52c1"
#: A character name that climbs from ``profiles/<split>/detailed_profiles/`` to ``tmp_path``.
CLIMBING_NAME = "../../../../outside/Evil"
LINK_DIALOGUES = Path("dialogues/in-distribution/human-role/Mira_Vale_links.json")


def _dialogue(number: int, image: str, text: str = "Hello.") -> dict:
    return {
        "id": f"Mira_Vale_human-role-dialogue_links_{number}",
        "image": image,
        "conversations": [{"role": "human", "value": "What is this?"}, {"role": "Mira Vale", "value": text}],
    }


def write_linked_root(target: Path, secret: Path) -> Path:
    """The demo set in ``target`` with symbolic links out of it, and links that stay inside.

    Out (to ``secret``'s folder, beside ``target``): ``images/scenes/leak.png`` (a file),
    ``images/linked`` (a folder), a dialogue file, a test file, and a character whose name climbs
    to ``<secret's folder>/Evil.json``. Inside: ``images/scenes/alias.png`` and ``images/mirror``
    (a folder), both still usable.
    """
    outside = secret.parent
    assert outside == target.parent / "outside", "CLIMBING_NAME climbs to <target's parent>/outside"
    root = copy_demo(target)
    images = root / "images"
    (images / "scenes" / "leak.png").symlink_to(secret)
    (images / "linked").symlink_to(outside, target_is_directory=True)
    (images / "scenes" / "alias.png").symlink_to("house.png")
    (images / "mirror").symlink_to("The_Lantern_Isles", target_is_directory=True)
    records = [
        _dialogue(0, "scenes/leak.png"),
        _dialogue(1, "linked/secret.png"),
        _dialogue(2, "scenes/alias.png"),
        _dialogue(3, "mirror/01.png"),
    ]
    (root / LINK_DIALOGUES).write_text(json.dumps(records))
    outside_dialogue = outside / "dialogue.json"
    outside_dialogue.write_text(json.dumps([_dialogue(9, "scenes/house.png", OUTSIDE_TEXT)]))
    (root / LINK_DIALOGUES.with_name("Otto_Brass_elsewhere.json")).symlink_to(outside_dialogue)
    sample = next(load_samples("demo"))
    outside_test = outside / "test.json"
    outside_test.write_text(json.dumps([sample_to_qwen(sample) | {"id": "leaked_0", "system": OUTSIDE_TEXT}]))
    (root / "data" / "test" / "in-distribution" / "human-role_leak_test.json").symlink_to(outside_test)
    profiles = root / "profiles" / "in-distribution"
    roles = json.loads((profiles / "roles.json").read_text())
    roles["The Lantern Isles"].append(CLIMBING_NAME)
    (profiles / "roles.json").write_text(json.dumps(roles))
    summaries = json.loads((profiles / "profiles.json").read_text())
    (profiles / "profiles.json").write_text(json.dumps(summaries | {CLIMBING_NAME: "A visitor."}))
    (outside / "Evil.json").write_text(json.dumps({"Personality": OUTSIDE_TEXT}))
    return root
