"""mmrole's exceptions.

    MMRoleError
    ├── DataError            bad input data: names the file, the record and the field
    │   └── UnsafePathError  a path leaving its root (mmrole.data.paths)
    ├── ConfigError          a bad option, model spec or missing credential
    ├── StorageError         a file that cannot be written: a full disk, no permission
    ├── BackendError         a model call failed, retryable or not (the engine retries the retryable)
    ├── TooManyFailures      a finished job failed more than --max-failures allows (mmrole.engine.failures)
    ├── EndpointUnavailable  a job stopped early: the endpoint is unreachable or rejects the key (same)
    └── ConversationError    a chat step that cannot be taken (mmrole.app.session)

The errors defined elsewhere belong to their room; this module imports nothing of mmrole's. The
CLI turns every MMRoleError into a one-line message and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import errno
from pathlib import Path


class MMRoleError(Exception):
    """Base of mmrole's own errors.

    ``exit_code`` is the CLI's exit status for it: 2 (bad input or options) unless a subclass
    says otherwise (``mmrole.engine.failures``: 1 for too many failures, 3 for a dead endpoint).
    """

    exit_code: int = 2


class DataError(MMRoleError):
    """Bad input data, located as precisely as possible."""

    def __init__(
        self, message: str, *, file: str | None = None, record: str | None = None, field: str | None = None
    ):
        self.file, self.record, self.field, self.reason = file, record, field, message
        where = ", ".join(
            part
            for part in (file, f"record {record}" if record else None, f"field {field!r}" if field else None)
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)


class ConfigError(MMRoleError):
    """A bad option, model spec or missing credential."""


class StorageError(MMRoleError):
    """A file mmrole writes (a run file, the store) cannot be written: a full disk, no permission.

    Attributes:
        file: The file being written.
    """

    def __init__(self, message: str, *, file: str | Path):
        self.file = str(file)
        super().__init__(message)

    @classmethod
    def writing(cls, file: str | Path, err: OSError) -> StorageError:
        """The error of an OSError raised while writing ``file``, said plainly."""
        if err.errno == errno.ENOSPC:
            return cls(f"no space left on device writing {file}", file=file)
        return cls(f"cannot write {file}: {err.strerror or err}", file=file)


#: :attr:`BackendError.kind` of a call that could not open a connection (refused, no such host,
#: connect timeout), and of one whose credentials were rejected (401, 403).
CONNECT, AUTH = "connect", "auth"


class BackendError(MMRoleError):
    """A model call failed.

    Backends raise it; the engine records it as the request's error (never as an answer).

    Attributes:
        retryable: Whether backing off and trying again can help (429, 5xx, timeouts, dropped
            connections).
        retry_after: The server's hint in seconds, if any.
        kind: :data:`CONNECT` or :data:`AUTH` for failures that say the endpoint itself is unusable
            (the engine stops the job early on them).
        hint: What the user can do about it (e.g. the environment variable holding the key).
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        kind: str | None = None,
        hint: str | None = None,
    ):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.kind = kind
        self.hint = hint
