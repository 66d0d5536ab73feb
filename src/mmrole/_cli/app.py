"""`mmrole chat` (terminal) and `mmrole app` (Gradio web app): talk to an MRPA."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from mmrole._cli.options import options_command
from mmrole.options import MAX_IMAGE_SIDE_HELP, SEED_HELP, TEMPERATURE_HELP, TOP_P_HELP, option, required

MODEL_SPEC_HELP = "Model spec: openai:MODEL[@URL], hf:PATH, replay:FILE or demo."
DATA_HELP = "An MMRole-Data root, or 'demo' (the bundled demo set)."


@dataclass(kw_only=True)
class ChatCommand:
    """``mmrole chat``."""

    agent: str = required(MODEL_SPEC_HELP)
    character: str | None = option(None, "The character the model plays (name as in roles.json).", short="-c")
    data: str = option("demo", DATA_HELP)
    image: str | None = option(
        None,
        "The image to talk about: a file, or a path under the data root's images/ "
        "(default: the first image of the character's series).",
        short="-i",
    )
    other: str | None = option(None, "Talk as this character (inter-role); with --turns, a model plays it.")
    other_agent: str | None = option(None, "Model spec playing --other in auto mode (default: --agent).")
    turns: int | None = option(
        None, "Auto mode: the two characters talk for N turns, then the command ends.", min=1
    )
    first: str | None = option(None, "Auto mode: who opens the dialogue (default: --character).")
    save: Path | None = option(None, "Transcript JSON, rewritten after every turn.")
    export: Path | None = option(
        None, "Also write the chat as an MMRole-Data dialogue file (JSON array of records)."
    )
    resume: Path | None = option(None, "Go on with a saved transcript (its character and image).")
    tag: str = option(
        "chat",
        "Source tag in dialogue ids (Mira_Vale_human-role-dialogue_TAG_0): unique per chat to pool them.",
    )
    max_tokens: int | None = option(
        None, "Longest reply, in tokens (default 512; 96 for the demo model, which runs on the CPU).", min=1
    )
    temperature: float = option(0.7, TEMPERATURE_HELP, min=0.0)
    top_p: float = option(1.0, TOP_P_HELP, min=0.0, max=1.0)
    seed: int | None = option(None, SEED_HELP)
    max_image_side: int | None = option(None, MAX_IMAGE_SIDE_HELP, min=16)


@dataclass(kw_only=True)
class AppCommand:
    """``mmrole app``."""

    agent: str = required(MODEL_SPEC_HELP)
    data: str = option("demo", DATA_HELP)
    other_agent: str | None = option(None, "Model spec playing the second character (default: --agent).")
    port: int = option(7860, "Port to serve on.")
    host: str = option(
        "127.0.0.1", "Address to serve on (0.0.0.0: every interface; needs --auth or --insecure)."
    )
    share: bool = option(False, "Open a public gradio.live link (needs --auth or --insecure).")
    auth: list[str] = option(
        help="Ask for a login: USER:PASS (repeatable). Prefer --auth-file: other users of this machine "
        "can read a command line.",
        factory=list,
        metavar="USER:PASS",
    )
    auth_file: Path | None = option(None, "Logins, one USER:PASS per line ('#' comments).")
    insecure: bool = option(False, "Serve a non-loopback --host or --share without a login.")
    # 20.0: mmrole.app.access.DEFAULT_MAX_UPLOAD_MB (not imported: --help stays fast)
    max_upload_mb: float = option(20.0, "Refuse uploaded files larger than this (MB).", min=0.01)
    out: Path | None = option(None, "Folder for the chats' transcripts (default: a new temporary folder).")
    max_tokens: int = option(512, "Longest reply, in tokens.", min=1)
    temperature: float = option(0.7, TEMPERATURE_HELP, min=0.0)
    top_p: float = option(1.0, TOP_P_HELP, min=0.0, max=1.0)
    max_image_side: int | None = option(None, MAX_IMAGE_SIDE_HELP, min=16)


def _params(max_tokens: int, temperature: float, top_p: float, seed: int | None):  # -> GenerationParams
    from mmrole.models.base import GenerationParams

    return GenerationParams(max_tokens=max_tokens, temperature=temperature, top_p=top_p, seed=seed)


def chat_command(options: ChatCommand) -> None:
    agent, character, data, image, other = (
        options.agent, options.character, options.data, options.image, options.other
    )  # fmt: skip
    other_agent, turns, first, save, export = (
        options.other_agent, options.turns, options.first, options.save, options.export
    )  # fmt: skip
    resume, max_tokens, max_image_side = options.resume, options.max_tokens, options.max_image_side
    import asyncio

    from rich.console import Console

    from mmrole.app.resources import ChatData
    from mmrole.app.session import ChatSession
    from mmrole.app.terminal import TerminalChat
    from mmrole.app.transcript import load_transcript
    from mmrole.errors import ConfigError
    from mmrole.models import load_backend
    from mmrole.models.demo import CHAT_MAX_TOKENS

    if max_tokens is None:  # the demo model replies in seconds on a CPU, not minutes
        max_tokens = CHAT_MAX_TOKENS if agent == "demo" else 512
    chat_data = ChatData.open(data)
    backend = load_backend(agent)
    other_backend = load_backend(other_agent) if other_agent else None
    params = _params(max_tokens, options.temperature, options.top_p, options.seed)
    if resume is not None:
        session = load_transcript(resume, backend, other_backend=other_backend)
        session.params, session.max_image_side = params, max_image_side
        if image is not None:
            session.new_dialogue(*chat_data.resolve_image(image))
        save = save or resume
    else:
        if character is None:
            raise ConfigError("--character is required (or --resume a transcript)")
        role = chat_data.character(character)
        partner = chat_data.character(other) if other else None
        path: Path | None  # None: text only, when the data has no image for the character
        if image is not None:
            path, annotation = chat_data.resolve_image(image)
        else:
            images = chat_data.images_of(role, limit=1)
            path, annotation = (images[0], chat_data.annotation_of(images[0])) if images else (None, None)
        session = ChatSession(
            role,
            backend,
            path,
            other=partner,
            other_backend=other_backend,
            annotation=annotation,
            image_root=chat_data.image_root,
            params=params,
            max_image_side=max_image_side,
            tag=options.tag,
        )
    if turns is not None and session.other is None:
        raise ConfigError("--turns (auto mode) needs --other CHARACTER")
    if first is not None and turns is not None:
        first = chat_data.character(first).name
    terminal = TerminalChat(session, chat_data, Console(soft_wrap=True), save_path=save, export_path=export)

    async def main() -> bool:
        try:
            if turns is not None:
                return await terminal.auto(turns, first)
            await terminal.run()
            return True
        finally:
            await backend.aclose()
            if other_backend is not None:
                await other_backend.aclose()

    if not asyncio.run(main()):
        raise typer.Exit(1)


def app_command(options: AppCommand) -> None:
    host, share, insecure = options.host, options.share, options.insecure
    from mmrole.app.access import check_exposure, parse_auth
    from mmrole.app.web import launch_app

    logins = parse_auth(options.auth, options.auth_file)
    check_exposure(host, share=share, auth=logins, insecure=insecure)  # before any model is loaded
    launch_app(
        options.agent,
        options.data,
        other_agent=options.other_agent,
        params=_params(options.max_tokens, options.temperature, options.top_p, None),
        max_image_side=options.max_image_side,
        out_dir=options.out,
        host=host,
        port=options.port,
        share=share,
        auth=logins or None,
        insecure=insecure,
        max_upload_mb=options.max_upload_mb,
    )


CHAT_HELP = """Chat with a character in the terminal (one message per line; piped input works); replies stream in.

The model gets MMRole's MRPA prompt (profile, image information, history) at every turn.
Commands: /image PATH, /start, /new, /save [FILE], /help, /quit.
"""
APP_HELP = """Serve a web app to chat with characters about images (Gradio), and let two characters talk.

Each browser session's chats are saved in its own subfolder of --out.
"""


def register(app: typer.Typer) -> None:
    """Add `mmrole chat` and `mmrole app` to the top-level app."""
    app.command("chat", help=CHAT_HELP)(options_command(ChatCommand, chat_command, CHAT_HELP))
    app.command("app", help=APP_HELP)(options_command(AppCommand, app_command, APP_HELP))
