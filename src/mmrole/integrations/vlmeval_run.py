"""VLMEvalKit's ``run.py`` with mmrole's dataset and model class registered.

    python -m mmrole.integrations.vlmeval_run --data MMRole_InTest --model qwen_chat \\
        --judge mmrole-eval-rm --judge-base-url http://localhost:8001/v1
    python -m mmrole.integrations.vlmeval_run --mmrole-model my-mrpa=openai:my-mrpa@http://localhost:8000/v1 \\
        --model my-mrpa --data MMBench_DEV_EN MMRole_InTest

Every argument is VLMEvalKit's (``torchrun ... -m mmrole.integrations.vlmeval_run`` works as with
its ``run.py``), except ``--mmrole-model NAME=SPEC`` (repeatable), which adds ``NAME`` to its model
registry as an :class:`~mmrole.integrations.vlmeval_model.MMRoleModel` answering through the mmrole
spec ``SPEC``.
"""

from __future__ import annotations

import sys

from mmrole.errors import ConfigError, MMRoleError

FLAG = "--mmrole-model"


def split_arguments(argv: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """(the ``--mmrole-model`` NAME/SPEC pairs, VLMEvalKit's arguments).

    Raises:
        ConfigError: ``--mmrole-model`` without ``NAME=SPEC``.
    """
    models, rest = [], []
    items = iter(argv)
    for item in items:
        if item == FLAG:
            value = next(items, "")
        elif item.startswith(FLAG + "="):
            value = item[len(FLAG) + 1 :]
        else:
            rest.append(item)
            continue
        name, sep, spec = value.partition("=")
        if not (sep and name.strip() and spec.strip()):
            raise ConfigError(
                f"{FLAG} takes NAME=SPEC (e.g. my-mrpa=openai:my-mrpa@http://host:8000/v1), not {value!r}"
            )
        models.append((name.strip(), spec.strip()))
    return models, rest


def main(argv: list[str] | None = None) -> None:
    """Register mmrole's classes (and the ``--mmrole-model`` models), then run VLMEvalKit's ``run.py``."""
    from mmrole.integrations.vlmeval_register import register, register_model

    try:
        models, rest = split_arguments(list(sys.argv[1:] if argv is None else argv))
        register()
        for name, spec in models:
            register_model(name, spec)
    except MMRoleError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(err.exit_code)
    import vlmeval.run

    sys.argv = [sys.argv[0], *rest]
    load_env = getattr(vlmeval.run, "load_env", None)
    if load_env is not None:
        load_env()
    vlmeval.run.main()


if __name__ == "__main__":
    main()
