"""`mmrole chat` (terminal) and `mmrole app` (Gradio web app): talk to an MRPA."""

from __future__ import annotations

from pathlib import Path

import typer

AgentOption = typer.Option(
    ..., "--agent", help="Model spec: openai:MODEL[@URL], hf:PATH, replay:FILE or demo."
)
DataOption = typer.Option("demo", "--data", help="An MMRole-Data root, or 'demo' (the bundled demo set).")


def _params(max_tokens: int, temperature: float, top_p: float, seed: int | None):  # -> GenerationParams
    from mmrole.models.base import GenerationParams

    return GenerationParams(max_tokens=max_tokens, temperature=temperature, top_p=top_p, seed=seed)


def chat_command(
    agent: str = AgentOption,
    character: str | None = typer.Option(
        None, "--character", "-c", help="The character the model plays (name as in roles.json)."
    ),
    data: str = DataOption,
    image: str | None = typer.Option(
        None,
        "--image",
        "-i",
        help="The image to talk about: a file, or a path under the data root's images/ "
        "(default: the first image of the character's series).",
    ),
    other: str | None = typer.Option(
        None, "--other", help="Talk as this character (inter-role); with --turns, a model plays it."
    ),
    other_agent: str | None = typer.Option(
        None, help="Model spec playing --other in auto mode (default: --agent)."
    ),
    turns: int | None = typer.Option(
        None, min=1, help="Auto mode: the two characters talk for N turns, then the command ends."
    ),
    first: str | None = typer.Option(None, help="Auto mode: who opens the dialogue (default: --character)."),
    save: Path | None = typer.Option(None, "--save", help="Transcript JSON, rewritten after every turn."),
    export: Path | None = typer.Option(
        None, "--export", help="Also write the chat as an MMRole-Data dialogue file (JSON array of records)."
    ),
    resume: Path | None = typer.Option(None, help="Go on with a saved transcript (its character and image)."),
    tag: str = typer.Option(
        "chat",
        help="Source tag in dialogue ids (Mira_Vale_human-role-dialogue_TAG_0): unique per chat to pool them.",
    ),
    max_tokens: int | None = typer.Option(
        None,
        min=1,
        help="Longest reply, in tokens (default 512; 96 for the demo model, which runs on the CPU).",
    ),
    temperature: float = typer.Option(0.7, min=0.0, help="Sampling temperature (0: greedy)."),
    top_p: float = typer.Option(1.0, min=0.0, max=1.0, help="Nucleus sampling mass."),
    seed: int | None = typer.Option(None, help="Sampling seed, for models that take one."),
    max_image_side: int | None = typer.Option(
        None, min=16, help="Downscale images whose longer side exceeds this many pixels."
    ),
) -> None:
    """Chat with a character in the terminal (one message per line; piped input works); replies stream in.

    The model gets MMRole's MRPA prompt (profile, image information, history) at every turn.
    Commands: /image PATH, /start, /new, /save [FILE], /help, /quit.
    """
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
    params = _params(max_tokens, temperature, top_p, seed)
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
            tag=tag,
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


def app_command(
    agent: str = AgentOption,
    data: str = DataOption,
    other_agent: str | None = typer.Option(
        None, help="Model spec playing the second character (default: --agent)."
    ),
    port: int = typer.Option(7860, help="Port to serve on."),
    host: str = typer.Option(
        "127.0.0.1", help="Address to serve on (0.0.0.0: every interface; needs --auth or --insecure)."
    ),
    share: bool = typer.Option(
        False, "--share/--no-share", help="Open a public gradio.live link (needs --auth or --insecure)."
    ),
    auth: list[str] = typer.Option(
        [],
        "--auth",
        metavar="USER:PASS",
        help="Ask for a login: USER:PASS (repeatable). Prefer --auth-file: other users of this machine "
        "can read a command line.",
    ),
    auth_file: Path | None = typer.Option(
        None, "--auth-file", help="Logins, one USER:PASS per line ('#' comments)."
    ),
    insecure: bool = typer.Option(
        False, "--insecure", help="Serve a non-loopback --host or --share without a login."
    ),
    max_upload_mb: float = typer.Option(  # 20.0: mmrole.app.access.DEFAULT_MAX_UPLOAD_MB (not imported: --help stays fast)
        20.0, "--max-upload-mb", min=0.01, help="Refuse uploaded files larger than this (MB)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Folder for the chats' transcripts (default: a new temporary folder)."
    ),
    max_tokens: int = typer.Option(512, min=1, help="Longest reply, in tokens."),
    temperature: float = typer.Option(0.7, min=0.0, help="Sampling temperature (0: greedy)."),
    top_p: float = typer.Option(1.0, min=0.0, max=1.0, help="Nucleus sampling mass."),
    max_image_side: int | None = typer.Option(
        None, min=16, help="Downscale images whose longer side exceeds this many pixels."
    ),
) -> None:
    """Serve a web app to chat with characters about images (Gradio), and let two characters talk.

    Each browser session's chats are saved in its own subfolder of --out.
    """
    from mmrole.app.access import check_exposure, parse_auth
    from mmrole.app.web import launch_app

    logins = parse_auth(auth, auth_file)
    check_exposure(host, share=share, auth=logins, insecure=insecure)  # before any model is loaded
    launch_app(
        agent,
        data,
        other_agent=other_agent,
        params=_params(max_tokens, temperature, top_p, None),
        max_image_side=max_image_side,
        out_dir=out,
        host=host,
        port=port,
        share=share,
        auth=logins or None,
        insecure=insecure,
        max_upload_mb=max_upload_mb,
    )


def register(app: typer.Typer) -> None:
    """Add `mmrole chat` and `mmrole app` to the top-level app."""
    app.command("chat")(chat_command)
    app.command("app")(app_command)
