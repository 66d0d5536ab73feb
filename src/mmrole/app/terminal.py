"""The terminal chat behind ``mmrole chat``: lines in, the character's streamed replies out.

Works interactively and with piped input (one message per line). Commands start with ``/``
(see :data:`HELP`). With a save path the transcript is rewritten after every turn, so a crash or
Ctrl-C loses at most the turn in flight.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from rich.console import Console
from rich.text import Text

from mmrole.app.resources import ChatData
from mmrole.app.session import ChatSession, ConversationError
from mmrole.app.transcript import save_mmrole_records, save_transcript
from mmrole.errors import MMRoleError

__all__ = ["HELP", "TerminalChat"]

HELP = """\
Type a message and press Enter. Commands:
  /image PATH   talk about another image (a file, or a path under the data root's images/)
  /start        let the character open the dialogue
  /new          start a new dialogue about the same image
  /save [FILE]  save the transcript (and the MMRole dialogue file, if --export was given)
  /help         show this help
  /quit         save (with --save) and leave"""

#: Colours of the two speakers' names.
_STYLES = ("bold cyan", "bold magenta")


class TerminalChat:
    """A chat between the terminal and a :class:`ChatSession`.

    Args:
        session: The conversation.
        data: The data root, to resolve ``/image`` paths and their annotations.
        console: Where everything is printed.
        save_path: Transcript JSON rewritten after every turn (None: only on ``/save FILE``).
        export_path: MMRole-format dialogue file rewritten alongside the transcript.
        read_line: Returns the next input line, ``""`` at the end of input (default: stdin).
    """

    def __init__(
        self,
        session: ChatSession,
        data: ChatData | None,
        console: Console,
        *,
        save_path: Path | None = None,
        export_path: Path | None = None,
        read_line: Callable[[], str] | None = None,
    ):
        self.session, self.data, self.console = session, data, console
        self.save_path, self.export_path = save_path, export_path
        self.read_line = read_line or self._stdin_line
        self.interactive = read_line is None and sys.stdin.isatty()

    # -- output -----------------------------------------------------------------------------------
    def banner(self) -> None:
        """Who talks about what, and how to get help."""
        s = self.session
        image = s.image_name or "no image"
        other = f" with {s.other.name} ({s.other.series})" if s.other else ""
        self.console.print(
            Text(
                f"{s.character.name} ({s.character.series}){other} · {image} · {s.backend.spec}",
                style="dim",
            )
        )
        if s.annotation is not None:
            for label, value in (
                ("character", s.annotation.role_info),
                ("place", s.annotation.place_info),
                ("scene", s.annotation.scene_info),
            ):
                if value:
                    self.console.print(Text(f"  {label}: {value}", style="dim"))

    def _name_style(self, speaker: str) -> str:
        return _STYLES[0] if speaker == self.session.character.name else _STYLES[1]

    async def _show(self, speaker: str, deltas: AsyncIterator[str]) -> None:
        """Print ``speaker:`` and then the reply as it streams in."""
        self.console.print(Text(f"{speaker}:", style=self._name_style(speaker)), end=" ")
        try:
            async for delta in deltas:
                self.console.print(delta, end="", markup=False, highlight=False, soft_wrap=True)
        finally:
            self.console.print()

    def _error(self, message: str) -> None:
        self.console.print(Text(message, style="red"))

    # -- saving -----------------------------------------------------------------------------------
    def save(self, path: Path | None = None) -> Path | None:
        """Write the transcript (and the MMRole dialogue file); returns the transcript path."""
        target = path or self.save_path
        if target is not None:
            save_transcript(self.session, target)
        if self.export_path is not None:
            save_mmrole_records(self.session, self.export_path)
        return target

    # -- input ------------------------------------------------------------------------------------
    def _stdin_line(self) -> str:
        if sys.stdin.isatty():
            try:
                who = "you" if self.session.other is None else self.session.other.name
                return self.console.input(f"[{_STYLES[1]}]{who}[/]> ") + "\n"
            except EOFError:
                return ""
        return sys.stdin.readline()

    async def run(self) -> None:
        """Read lines until ``/quit`` or the end of input, answering each message."""
        self.banner()
        if self.interactive:
            self.console.print(Text("Type /help for commands.", style="dim"))
        try:
            while True:
                line = await asyncio.to_thread(self.read_line)
                if not line:
                    break
                text = line.strip()
                if not text:
                    continue
                if text.startswith("/"):
                    if not await self._command(text):
                        break
                    continue
                await self._answer(text)
        finally:
            saved = self.save()
            if saved is not None:
                self.console.print(Text(f"transcript saved to {saved}", style="dim"))

    async def _answer(self, text: str) -> None:
        try:
            await self._show(self.session.character.name, self.session.ask_stream(text))
        except MMRoleError as err:  # BackendError included
            self._error(f"error: {err} (the message was not kept; send it again)")
            return
        self.save()

    async def _command(self, text: str) -> bool:
        """Run one ``/command``; False means leave."""
        name, _, argument = text.partition(" ")
        argument = argument.strip()
        if name in ("/quit", "/exit", "/q"):
            return False
        if name == "/help":
            self.console.print(HELP, markup=False, highlight=False)
        elif name == "/image":
            self._change_image(argument)
        elif name == "/new":
            self.session.new_dialogue(keep_image=True)
            self.console.print(Text("new dialogue about the same image", style="dim"))
        elif name == "/start":
            try:
                await self._show(self.session.character.name, self.session.reply_stream())
            except MMRoleError as err:  # BackendError included
                self._error(f"error: {err}")
            else:
                self.save()
        elif name == "/save":
            target = Path(argument).expanduser() if argument else self.save_path
            if target is None:
                self._error("no file to save to: use /save FILE (or start with --save FILE)")
            else:
                self.save_path = target
                self.console.print(Text(f"saved to {self.save(target)}", style="dim"))
        else:
            self._error(f"unknown command {name}; /help lists them")
        return True

    def _change_image(self, argument: str) -> None:
        if not argument:
            self._error("usage: /image PATH")
            return
        try:
            if self.data is not None:
                path, annotation = self.data.resolve_image(argument)
            else:
                path, annotation = Path(argument).expanduser(), None
            self.session.new_dialogue(path, annotation)
        except (MMRoleError, ConversationError) as err:
            self._error(f"error: {err}")
            return
        self.banner()

    async def auto(self, turns: int, first: str | None = None) -> bool:
        """Let the two characters talk for ``turns`` turns, printing each as it streams.

        Returns:
            False when a model call failed (the turns before it are kept and saved).
        """
        self.banner()
        speaker: str | None = None
        ok = True
        try:
            async for who, delta in self.session.converse_stream(turns, first):
                if who != speaker:
                    if speaker is not None:
                        self.console.print()
                        self.save()  # the previous turn is complete
                    self.console.print(Text(f"{who}:", style=self._name_style(who)), end=" ")
                    speaker = who
                self.console.print(delta, end="", markup=False, highlight=False, soft_wrap=True)
            self.console.print()
        except MMRoleError as err:  # BackendError included
            self.console.print()
            self._error(f"error: {err}")
            ok = False
        finally:
            saved = self.save()
            if saved is not None:
                self.console.print(Text(f"transcript saved to {saved}", style="dim"))
        return ok
