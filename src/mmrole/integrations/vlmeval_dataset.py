"""MMRole as a VLMEvalKit dataset: a subclass of VLMEvalKit's own ``ImageBaseDataset``.

Importing this module imports VLMEvalKit; :func:`mmrole.integrations.vlmeval_register.register` adds
the class to VLMEvalKit's registry. Its datasets are TSVs in VLMEvalKit's data folder
(``$LMUData``, else ``~/LMUData``), written by ``mmrole data convert ... --to vlmeval-tsv``:

    MMRole_InTest    MMRole_InTest.tsv    the in-distribution test set
    MMRole_OutTest   MMRole_OutTest.tsv   the out-of-distribution test set
    MMRole           MMRole.tsv           both
    MMRole_Demo      MMRole_Demo.tsv      mmrole's bundled demo set (written there when absent)
    MMRole_<name>    MMRole_<name>.tsv    any MMRole-format test set you build

``DATASET_MD5`` is the MD5 mmrole recorded when it wrote the TSV (``NAME.tsv.md5`` beside it); a
TSV that differs is refused. ``build_prompt`` gives VLMEvalKit models the MRPA prompt as mmrole
sends it (:func:`mmrole.data.convert.vlmeval_message`); ``evaluate`` judges a prediction file with
MMRole-Eval through mmrole's engine (:mod:`mmrole.integrations.vlmeval_evaluate`).
"""

from __future__ import annotations

import base64
import binascii
import csv
import os
import sys
from pathlib import Path
from typing import Any

from mmrole.integrations.vlmeval_setup import load_vlmeval

load_vlmeval()

import pandas as pd  # noqa: E402 - after VLMEvalKit, which the base class comes from
from vlmeval.dataset.image_base import ImageBaseDataset  # noqa: E402
from vlmeval.smp import LMUDataRoot, md5  # noqa: E402

from mmrole.data.convert import TSV_COLUMNS, md5_file_of, vlmeval_message  # noqa: E402
from mmrole.errors import DataError  # noqa: E402
from mmrole.integrations.vlmeval_judge import DEFAULT_JUDGE  # noqa: E402
from mmrole.integrations.vlmeval_predictions import sample_of_row  # noqa: E402
from mmrole.schema import Sample  # noqa: E402

#: The datasets every install knows, and the split each holds (None: any).
NAMED_SPLITS: dict[str, str | None] = {
    "MMRole": None,
    "MMRole_InTest": "in-distribution",
    "MMRole_OutTest": "out-of-distribution",
    "MMRole_Demo": None,
}
PREFIX = "MMRole_"


def data_root() -> Path | None:
    """VLMEvalKit's data folder, if it exists (``LMUDataRoot`` would create ``~/LMUData``)."""
    given = os.environ.get("LMUData")
    if given and Path(given).is_dir():
        return Path(given)
    home = Path.home() / "LMUData"
    return home if home.is_dir() else None


def _write_demo_tsv(path: Path) -> None:
    from mmrole.data import image_root, load_samples
    from mmrole.data.convert import write_vlmeval_tsv

    write_vlmeval_tsv(load_samples("demo"), image_root("demo"), path)


class MMRoleDataset(ImageBaseDataset):
    """MMRole's test sets in VLMEvalKit (see the module docstring for the names)."""

    TYPE = "RolePlay"
    MODALITY = "IMAGE"
    DATASET_URL = {name: f"{name}.tsv" for name in NAMED_SPLITS}
    DATASET_MD5: dict[str, str] = {}
    DEFAULT_JUDGE = DEFAULT_JUDGE

    @classmethod
    def supported_datasets(cls) -> list[str]:
        names = list(NAMED_SPLITS)
        root = data_root()
        if root is not None:
            names += sorted(
                p.name[: -len(".tsv")]
                for p in root.glob(f"{PREFIX}*.tsv")
                if p.name[: -len(".tsv")] not in names
            )
        return names

    def load_data(self, dataset: str) -> pd.DataFrame:
        """The TSV of ``dataset``, every cell as text, checked against the MD5 mmrole recorded.

        Raises:
            DataError: The file is missing (the message says how to write it), differs from the
                MD5 recorded beside it, lacks an MMRole column, or holds samples of another split.
        """
        path = Path(LMUDataRoot()) / f"{dataset}.tsv"
        self.data_path = str(path)
        if not path.is_file():
            if dataset != "MMRole_Demo":
                raise DataError(
                    f"not found: write it with `mmrole data convert DATA --to vlmeval-tsv --out {path}` "
                    "(DATA: MMRole-Data's test folder, e.g. data/test/in-distribution for MMRole_InTest)",
                    file=str(path),
                )
            _write_demo_tsv(path)
        sidecar = md5_file_of(path)
        if sidecar.is_file():
            expected = sidecar.read_text(encoding="utf-8").split()[0].lower()
            type(self).DATASET_MD5[dataset] = expected
            found = md5(str(path))
            if found != expected:
                raise DataError(
                    f"MD5 {found} differs from {expected}, recorded in {sidecar.name} when mmrole wrote it: "
                    "the file changed since; write it again with `mmrole data convert`",
                    file=str(path),
                )
        csv.field_size_limit(sys.maxsize)
        data = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_filter=False)
        missing = [c for c in TSV_COLUMNS if c not in data.columns]
        if missing:
            raise DataError(
                f"not an MMRole TSV: missing column(s) {missing} (write it with `mmrole data convert`)",
                file=str(path),
                field=missing[0],
            )
        split = NAMED_SPLITS.get(dataset)
        if split is not None and (other := data[data["split"] != split]).shape[0]:
            raise DataError(
                f"{dataset} holds {split} samples only, but this file has {len(other)} of split "
                f"{other['split'].iloc[0]!r}",
                file=str(path),
                record=str(other["id"].iloc[0]),
                field="split",
            )
        return data

    def post_build(self, dataset: str) -> None:
        # VLMEvalKit's inference drops the image column from ``self.data`` when it writes the
        # predictions; ``evaluate`` still shows the judge each image (the same strings, not copies).
        self._images = dict(zip(map(str, self.data["index"]), self.data["image"], strict=True))

    def dump_image(self, line: Any) -> list[str]:
        """The row's image, written under ``img_root`` at its ``image_path`` with the TSV's bytes as
        they are (VLMEvalKit's default re-encodes them, so a model would not see mmrole's image)."""
        from mmrole import files
        from mmrole.data.paths import resolve_under

        root = Path(self.img_root)
        root.mkdir(parents=True, exist_ok=True)
        record = str(line.get("id") or line["index"])
        target = resolve_under(
            root, str(line["image_path"]), file=self.data_path, record=record, field="image_path"
        )
        try:
            cell = line["image"] if "image" in line else self._images[str(line["index"])]
            data = base64.b64decode(str(cell), validate=True)
        except (binascii.Error, ValueError):
            raise DataError(
                "image is not base64", file=self.data_path, record=record, field="image"
            ) from None
        if not (target.is_file() and target.stat().st_size == len(data) and target.read_bytes() == data):
            files.write_bytes(target, data)
        return [str(target)]

    def build_prompt(self, line: Any) -> list[dict[str, str]]:
        """The MRPA prompt of a row: its image, then its system prompt and instruction."""
        if isinstance(line, int):
            line = self.data.iloc[line]
        return vlmeval_message(str(line["system"]), self.dump_image(line), str(line["question"]))

    def sample_of(self, line: Any) -> Sample:
        """The mmrole Sample of a row (its image relative to ``img_root``)."""
        return sample_of_row(dict(line), file=self.data_path, line=str(line["index"]))

    def evaluate(self, eval_file: str, **judge_kwargs: Any) -> pd.DataFrame:
        """MMRole-Eval of a prediction file: the 8 metrics and the overall score, over all samples
        and by split and dialogue type (see :func:`mmrole.integrations.vlmeval_evaluate.evaluate_predictions`)."""
        from mmrole.integrations.vlmeval_evaluate import evaluate_predictions

        return evaluate_predictions(self, eval_file, judge_kwargs)
