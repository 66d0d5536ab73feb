"""mmrole with other evaluation toolkits: VLMEvalKit, both ways.

Nothing here is imported by ``import mmrole``; each module imports VLMEvalKit (and torch) only when
used. See docs/vlmevalkit.md.

    vlmeval_setup        import VLMEvalKit with its import-time side effects contained
    vlmeval_register     mmrole's dataset and model class in VLMEvalKit's registries
    vlmeval_dataset      MMRole as a VLMEvalKit dataset (MMRole_InTest, MMRole_OutTest, MMRole,
                         MMRole_Demo, any MMRole_<name>.tsv in $LMUData): build_prompt, evaluate
    vlmeval_evaluate     its evaluate: a prediction file judged by MMRole-Eval through the engine
    vlmeval_judge        VLMEvalKit's judge keyword arguments -> an mmrole judge spec and options
    vlmeval_backend      ``vlmeval:MODEL_NAME``: a VLMEvalKit model as an mmrole backend
    vlmeval_model        MMRoleModel: any mmrole model spec as a VLMEvalKit model
    vlmeval_messages     OpenAI chat messages <-> VLMEvalKit's interleaved messages (pure)
    vlmeval_predictions  VLMEvalKit prediction files (.xlsx, .tsv) <-> run folders
    vlmeval_run          ``python -m mmrole.integrations.vlmeval_run``: VLMEvalKit's run.py with
                         mmrole's classes registered
"""

from __future__ import annotations

__all__: list[str] = []
