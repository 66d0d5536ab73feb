"""Making VLMEvalKit know mmrole's dataset and model class (its registries are module globals).

from mmrole.integrations.vlmeval_register import register, register_model
register()                                            # MMRole_* datasets, MMRoleModel
register_model("my-mrpa", "openai:my-mrpa@http://localhost:8000/v1")   # --model my-mrpa
"""

from __future__ import annotations

from functools import partial
from typing import Any

from mmrole.integrations.vlmeval_setup import load_vlmeval


def register() -> None:
    """Make VLMEvalKit's ``build_dataset``, ``DATASET_TYPE``, ``run.py`` and ``--config`` files know
    mmrole's :class:`~mmrole.integrations.vlmeval_dataset.MMRoleDataset` and
    :class:`~mmrole.integrations.vlmeval_model.MMRoleModel` (idempotent).

    The dataset class joins ``vlmeval.dataset.DATASET_CLASSES`` (the list every lookup walks) and
    both classes become attributes of ``vlmeval.dataset`` / ``vlmeval.vlm``, where ``--config``
    files name classes (``{"class": "MMRoleModel", "model": "openai:..."}``).
    """
    load_vlmeval()
    import vlmeval.dataset as datasets
    import vlmeval.vlm as models

    from mmrole.integrations.vlmeval_dataset import MMRoleDataset
    from mmrole.integrations.vlmeval_model import MMRoleModel

    if MMRoleDataset not in datasets.DATASET_CLASSES:
        datasets.DATASET_CLASSES.append(MMRoleDataset)
        datasets.IMAGE_DATASET.append(MMRoleDataset)
    known = set(datasets.SUPPORTED_DATASETS)
    datasets.SUPPORTED_DATASETS.extend(n for n in MMRoleDataset.supported_datasets() if n not in known)
    datasets.MMRoleDataset = MMRoleDataset
    models.MMRoleModel = MMRoleModel


def register_model(name: str, spec: str, **options: Any) -> None:
    """Add ``name`` to VLMEvalKit's model registry (``vlmeval.config.supported_VLM``) as an
    :class:`~mmrole.integrations.vlmeval_model.MMRoleModel` answering through the mmrole model ``spec``.

    Args:
        name: The name VLMEvalKit's ``--model`` takes (and its output files carry).
        spec: An mmrole model spec: ``openai:MODEL@URL``, ``hf:PATH``, ``replay:FILE``, ``demo``...
        **options: :class:`MMRoleModel`'s options (``max_tokens``, ``cache``, ...).
    """
    register()
    import vlmeval.config

    from mmrole.integrations.vlmeval_model import MMRoleModel

    vlmeval.config.supported_VLM[name] = partial(MMRoleModel, model=spec, **options)
