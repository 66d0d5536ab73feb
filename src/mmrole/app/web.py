"""The Gradio web app behind ``mmrole app``: chat with a character about an image, or let two talk.

:func:`build_app` returns the :class:`gradio.Blocks` without launching it (tests build it);
:func:`launch_app` serves it. The event handlers are the plain functions of
:mod:`mmrole.app.callbacks`; this module only lays out components and wires events. Gradio is
imported inside the functions, so ``import mmrole.app.web`` stays light.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmrole.app import callbacks as cb
from mmrole.app.access import DEFAULT_MAX_UPLOAD_MB, check_exposure, upload_limit_bytes
from mmrole.app.resources import ChatData
from mmrole.models import load_backend
from mmrole.models.base import Backend, GenerationParams

__all__ = ["build_app", "launch_app", "launch_options", "make_context"]

_CSS = """
#mmrole-profile { max-height: 340px; overflow-y: auto; }
#mmrole-status p { margin: 0; }
"""


def make_context(
    agent: str | Backend,
    data: str | Path | ChatData,
    *,
    other_agent: str | Backend | None = None,
    params: GenerationParams | None = None,
    max_image_side: int | None = None,
    out_dir: str | Path | None = None,
) -> cb.AppContext:
    """Load the data root and the model(s) into the context every handler shares.

    Raises:
        DataError / ConfigError: The data root or a model spec is bad.
    """

    chat_data = data if isinstance(data, ChatData) else ChatData.open(data)
    # A given folder goes into the constructor: only the default makes a temporary folder, so a
    # given one leaves no empty mmrole-app-* folder behind in /tmp.
    folder = Path(out_dir).expanduser() if out_dir is not None else cb.temporary_chat_folder()
    folder.mkdir(parents=True, exist_ok=True)
    return cb.AppContext(
        data=chat_data,
        backend=load_backend(agent),
        other_backend=load_backend(other_agent) if other_agent is not None else None,
        params=params or GenerationParams(temperature=0.7),
        max_image_side=max_image_side,
        out_dir=folder,
    )


def _partner(data: ChatData, name: str) -> str:
    """A default partner for character-vs-character: someone of the same series, else anyone else."""
    series = data.characters[name].series
    others = [n for n in sorted(data.characters) if n != name]
    same = [n for n in others if data.characters[n].series == series]
    return (same or others or [name])[0]


def _files(files: cb.ChatFiles) -> Any:
    """The download list's new value; unchanged (``gr.skip()``) while a reply is still streaming."""
    import gradio as gr

    return [path for path in files if path] if any(files) else gr.skip()


def build_app(
    agent: str | Backend | cb.AppContext,
    data: str | Path | ChatData = "demo",
    **options: Any,
) -> Any:
    """Build the web app (a :class:`gradio.Blocks`), without launching it.

    Args:
        agent: A model spec or backend, or a ready :class:`~mmrole.app.callbacks.AppContext`.
        data: An MMRole-Data root, ``"demo"``, or loaded :class:`ChatData`.
        **options: ``other_agent``, ``params``, ``max_image_side``, ``out_dir`` (see :func:`make_context`).
    """
    import gradio as gr

    ctx = agent if isinstance(agent, cb.AppContext) else make_context(agent, data, **options)
    names = sorted(ctx.data.characters)
    first = names[0]
    gallery = [(str(p), p.relative_to(ctx.data.image_root).as_posix()) for p in ctx.data.images()]
    start_image = str(ctx.data.images_of(ctx.data.characters[first], limit=1)[0]) if gallery else None
    start_annotation = ctx.data.annotation_of(Path(start_image)) if start_image else None

    with gr.Blocks(title="mmrole · talk to an MRPA") as blocks:
        gr.Markdown(
            "## Talk to a multimodal role-playing agent\n"
            f"Model `{ctx.backend.spec}` · data `{ctx.data.root.name}` · "
            "every turn is prompted in MMRole's format (profile, image information, history)."
        )
        session = gr.State(None)
        versus_session = gr.State(None)
        image_path = gr.State(start_image)
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=320):
                character = gr.Dropdown(names, value=first, label="Character")
                image = gr.Image(
                    value=start_image,
                    type="filepath",
                    label="Image (upload, paste or pick below)",
                    sources=["upload", "clipboard"],
                    height=260,
                )
                aux = gr.Markdown(cb.annotation_markdown(start_annotation))
                picker = gr.Gallery(
                    gallery, label="Images of the data set", columns=4, height=190, allow_preview=False
                )
                with gr.Accordion("Profile", open=True):
                    profile = gr.Markdown(
                        cb.profile_markdown(ctx.data.characters[first]), elem_id="mmrole-profile"
                    )
            with gr.Column(scale=3, min_width=420):
                with gr.Tab("Chat"):
                    chatbot = gr.Chatbot(
                        label="Conversation", height=440, placeholder="Say something about the image."
                    )
                    with gr.Row():
                        box = gr.Textbox(
                            placeholder="Your message", show_label=False, scale=5, autofocus=True
                        )
                        send = gr.Button("Send", variant="primary", scale=1, min_width=80)
                    with gr.Row():
                        begin = gr.Button("Let the character begin", size="sm")
                        new = gr.Button("New dialogue", size="sm")
                    status = gr.Markdown(elem_id="mmrole-status")
                    downloads = gr.File(
                        label="Transcript and MMRole dialogue file", file_count="multiple", height=120
                    )
                with gr.Tab("Character vs character"):
                    with gr.Row():
                        other = gr.Dropdown(names, value=_partner(ctx.data, first), label="Talks with")
                        turns = gr.Slider(2, 20, value=6, step=1, label="Turns")
                        opener = gr.Radio(
                            ["chosen character", "the other"], value="chosen character", label="Who begins"
                        )
                    run = gr.Button("Let them talk", variant="primary")
                    versus = gr.Chatbot(label="Inter-role dialogue", height=440)
                    versus_status = gr.Markdown(elem_id="mmrole-status")
                    versus_downloads = gr.File(
                        label="Transcript and MMRole dialogue file", file_count="multiple"
                    )

        # -- wiring -----------------------------------------------------------------------------
        def choose_character(name: str, path: str | None) -> tuple[Any, ...]:
            return cb.on_character(ctx, name, path)

        def choose_image(path: str | None, name: str, current: Any) -> tuple[Any, ...]:
            return cb.on_image(ctx, path, name, current)

        def pick(evt: gr.SelectData) -> tuple[Any, Any]:
            path = cb.on_gallery_select(ctx, evt.index)
            return (path, path) if path else (gr.skip(), gr.skip())

        # Gradio finds event-data parameters by resolved type hints; gr is local here, so give the class itself.
        pick.__annotations__["evt"] = gr.SelectData

        # The handlers that save take Gradio's request: each browser session saves into its own folder.
        async def send_message(text: str, name: str, path: str | None, current: Any, request: Any):
            mine = ctx.for_visitor(getattr(request, "session_hash", None))
            async for messages, text_box, state, files, note in cb.on_send(mine, text, name, path, current):
                yield messages, text_box, state, _files(files), note

        async def let_begin(name: str, path: str | None, current: Any, request: Any):
            mine = ctx.for_visitor(getattr(request, "session_hash", None))
            async for messages, state, files, note in cb.on_begin(mine, name, path, current):
                yield messages, state, _files(files), note

        async def talk(name: str, partner: str, path: str | None, count: float, who: str, request: Any):
            first_speaker = name if who == "chosen character" else partner
            mine = ctx.for_visitor(getattr(request, "session_hash", None))
            async for messages, state, files, note in cb.on_versus(
                mine, name, partner, path, int(count), first_speaker
            ):
                yield messages, state, _files(files), note

        for handler in (send_message, let_begin, talk):
            handler.__annotations__["request"] = gr.Request  # Gradio passes the request to this parameter

        image_outputs = [aux, chatbot, session, status]
        character.change(choose_character, [character, image_path], [profile, chatbot, session, status])
        picker.select(pick, None, [image_path, image]).then(
            choose_image, [image_path, character, session], image_outputs
        )
        image.upload(lambda p: p, image, image_path).then(
            choose_image, [image_path, character, session], image_outputs
        )
        image.clear(lambda: None, None, image_path).then(
            choose_image, [image_path, character, session], image_outputs
        )
        chat_inputs = [box, character, image_path, session]
        chat_outputs = [chatbot, box, session, downloads, status]
        send.click(send_message, chat_inputs, chat_outputs)
        box.submit(send_message, chat_inputs, chat_outputs)
        begin.click(let_begin, [character, image_path, session], [chatbot, session, downloads, status])
        new.click(lambda s: cb.on_new(ctx, s), session, [chatbot, session, status])
        chatbot.clear(lambda s: cb.on_new(ctx, s), session, [chatbot, session, status])  # its bin button
        run.click(
            talk,
            [character, other, image_path, turns, opener],
            [versus, versus_session, versus_downloads, versus_status],
        )
    blocks.mmrole_context = ctx  # for tests and embedding: the handlers' shared context
    return blocks


def launch_options(
    ctx: cb.AppContext,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    share: bool = False,
    auth: list[tuple[str, str]] | None = None,
    max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB,
) -> dict[str, Any]:
    """The keyword arguments :func:`launch_app` gives ``Blocks.launch``: address, login, upload cap, paths."""
    import gradio as gr

    return {
        "server_name": host,
        "server_port": port,
        "share": share,
        "auth": list(auth) if auth else None,
        "max_file_size": upload_limit_bytes(max_upload_mb),
        "allowed_paths": [str(ctx.data.image_root), str(ctx.out_dir)],
        "theme": gr.themes.Soft(),
        "css": _CSS,
    }


def launch_app(
    agent: str | Backend,
    data: str | Path | ChatData = "demo",
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    share: bool = False,
    auth: list[tuple[str, str]] | None = None,
    insecure: bool = False,
    max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB,
    **options: Any,
) -> None:
    """Build the app and serve it until interrupted (see :func:`build_app` for the options).

    Args:
        auth: (user, password) logins the app asks for; required for a non-loopback ``host`` or
            ``share`` unless ``insecure``.
        insecure: Serve beyond this machine without a login.
        max_upload_mb: Uploads larger than this are refused.

    Raises:
        ConfigError: a non-loopback host or ``share`` without ``auth`` or ``insecure`` (checked before
            any model is loaded), or a non-positive upload cap.
    """
    check_exposure(host, share=share, auth=auth, insecure=insecure)
    upload_limit_bytes(max_upload_mb)
    ctx = make_context(agent, data, **options)
    blocks = build_app(ctx)
    print(f"chats are saved in {ctx.out_dir} (a subfolder per browser session)")
    blocks.queue().launch(
        **launch_options(ctx, host=host, port=port, share=share, auth=auth, max_upload_mb=max_upload_mb)
    )
