"""Who may reach the web app, how much they may upload, and where each visitor's chats go.

``mmrole app`` serves on 127.0.0.1 by default. Served on another address (``--host 0.0.0.0``) or
through a public ``--share`` link, it needs a login (``--auth USER:PASS`` or ``--auth-file FILE``)
unless ``--insecure`` says it may be open. Uploads are capped (``--max-upload-mb``). Every browser
session (Gradio's ``session_hash``) saves its transcripts in its own subfolder of the output
folder, named by a keyed hash: a visitor cannot list, guess or overwrite another's files.

No Gradio import here: the web module passes these values to ``launch`` and the handlers.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable
from pathlib import Path

from mmrole.errors import ConfigError, DataError

__all__ = [
    "DEFAULT_MAX_UPLOAD_MB",
    "check_exposure",
    "is_loopback",
    "parse_auth",
    "upload_limit_bytes",
    "visitor_folder",
]

#: Uploads larger than this are refused (413) unless ``--max-upload-mb`` says otherwise: ample for
#: a photo, small enough that a visitor cannot fill the disk or memory with one request.
DEFAULT_MAX_UPLOAD_MB = 20.0
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def parse_auth(pairs: Iterable[str] = (), file: str | Path | None = None) -> list[tuple[str, str]]:
    """Logins from ``USER:PASS`` strings and from a file of such lines (``#`` comments, blank lines).

    The password is everything after the first ':' (it may hold ':'). Errors never quote a password.

    Raises:
        ConfigError: a ``--auth`` value without a user name or a password.
        DataError: the file cannot be read, or a line of it is not ``USER:PASS`` (names the line).
    """
    logins: dict[str, str] = {}
    for pair in pairs:
        user, password = _split_login(pair)
        if user is None:
            raise ConfigError("--auth takes USER:PASS (a user name, ':', then a non-empty password)")
        logins[user] = password
    if file is not None:
        path = Path(file).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(
                f"cannot read the logins file: {getattr(exc, 'strerror', None) or exc}", file=str(path)
            ) from None
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            user, password = _split_login(line)
            if user is None:
                raise DataError(
                    "expected USER:PASS (a user name, ':', then a non-empty password)",
                    file=str(path),
                    record=f"line {number}",
                )
            if user in logins:
                raise DataError(f"user {user!r} is given twice", file=str(path), record=f"line {number}")
            logins[user] = password
        if not logins:
            raise DataError("no USER:PASS line: the app would need a login nobody has", file=str(path))
    return list(logins.items())


def _split_login(text: str) -> tuple[str | None, str]:
    user, colon, password = text.partition(":")
    user = user.strip()
    if not colon or not user or not password:
        return None, ""
    return user, password


def is_loopback(host: str) -> bool:
    """Whether serving on ``host`` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    host = host.strip().lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name or 0.0.0.0: other machines may reach it


def check_exposure(host: str, *, share: bool, auth: object, insecure: bool) -> None:
    """Refuse to serve beyond this machine without a login, unless ``insecure``.

    Raises:
        ConfigError: ``share``, or a host that is not loopback, with no ``auth`` and not ``insecure``.
    """
    if auth or insecure:
        return
    hint = "give --auth USER:PASS or --auth-file FILE, or --insecure to serve it without a login"
    if share:
        raise ConfigError(f"--share publishes the app on a public link: {hint}")
    if not is_loopback(host):
        raise ConfigError(f"--host {host} lets other machines reach the app: {hint}")


def upload_limit_bytes(max_upload_mb: float) -> int:
    """The upload cap in bytes (what Gradio's ``launch(max_file_size=...)`` takes).

    Raises:
        ConfigError: not a positive number.
    """
    if not max_upload_mb or max_upload_mb <= 0:
        raise ConfigError(f"--max-upload-mb must be positive (got {max_upload_mb})")
    return max(1, int(max_upload_mb * 1024 * 1024))


def visitor_folder(secret: bytes, session_hash: str) -> str:
    """The subfolder name of one browser session: a hash keyed with the app's secret.

    Keyed, so a visitor who learns another's session hash still cannot name their folder, and
    made only of hex digits, so no session hash can climb out of the output folder.
    """
    return hmac.new(secret, session_hash.encode("utf-8"), hashlib.sha256).hexdigest()[:24]
