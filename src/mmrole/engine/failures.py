"""When a job's failures make it fail: ``--max-failures`` and stopping early on a dead endpoint.

Two separate questions:

- :class:`MaxFailures` decides the exit status of a finished job (Inspect's ``fail_on_error``):
  an integer N allows N failed items, a fraction in (0, 1) allows that share of them; the
  default, 0, allows none. The job itself always runs to the end and keeps everything.
- :class:`EndpointHealth` decides when a job stops *before* the end because no call can succeed:
  an authentication failure (401/403) stops it at once; connection failures stop it after a
  run of them with no response in between. :class:`EndpointUnavailable` says what failed, where,
  and (for a 401) which variable to set; finished work stays in the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mmrole.errors import AUTH, CONNECT, BackendError, ConfigError, MMRoleError

#: Connection failures in a row (no response in between) that stop a job.
FAIL_FAST_AFTER = 8


class TooManyFailures(MMRoleError):
    """A finished job had more failures than ``--max-failures`` allows (exit status 1)."""

    exit_code = 1


class EndpointUnavailable(MMRoleError):
    """A job stopped early: the endpoint refuses connections or rejects the credentials (exit status 3).

    Attributes:
        kind: ``"auth"`` or ``"connect"``.
        spec: The backend spec (credentials redacted by the backend).
        error: The last error text.
        calls: Calls made in this job before it stopped.
    """

    exit_code = 3

    def __init__(self, message: str, *, kind: str, spec: str, error: str, calls: int):
        super().__init__(message)
        self.kind, self.spec, self.error, self.calls = kind, spec, error, calls


@dataclass(frozen=True)
class MaxFailures:
    """How many failed items a job may have and still succeed.

    Attributes:
        count: Failed items allowed (when ``share`` is None).
        share: Fraction of the items allowed to fail, in (0, 1).
    """

    count: int = 0
    share: float | None = None

    @classmethod
    def parse(cls, text: str | int | float | MaxFailures | None) -> MaxFailures:
        """``"3"`` -> 3 failures allowed; ``"0.05"`` -> 5% allowed; None -> none allowed.

        Raises:
            ConfigError: neither a count >= 0 nor a fraction in (0, 1).
        """
        if text is None:
            return cls()
        if isinstance(text, MaxFailures):
            return text
        raw = str(text).strip()
        try:
            count = int(raw)
        except ValueError:
            count = None
        if count is not None:
            if count < 0:
                raise ConfigError(f"--max-failures {raw}: a count must be 0 or more")
            return cls(count=count)
        try:
            share = float(raw)
        except ValueError:
            share = float("nan")
        if not 0 < share < 1:
            raise ConfigError(
                f"--max-failures {raw!r}: give a count (0, 1, 2...) or a fraction between 0 and 1 (0.05)"
            )
        return cls(share=share)

    def exceeded(self, failed: int, total: int) -> bool:
        """Whether ``failed`` of ``total`` items is more than allowed."""
        if self.share is None:
            return failed > self.count
        return total > 0 and failed > self.share * total

    def check(self, failed: int, total: int, what: str, where: str = "") -> None:
        """Raise :class:`TooManyFailures` when ``failed`` of ``total`` ``what`` is more than allowed.

        Args:
            failed: Failed items.
            total: All items.
            what: The items, plural (``"samples"``, ``"judgements"``).
            where: Where their errors are (a file), named in the message.
        """
        self.check_stages([(failed, total, what, where)])

    def check_stages(self, stages: Iterable[tuple[int, int, str, str]]) -> None:
        """:meth:`check` for a job of several stages, each counted on its own (e.g. answers, then judgements).

        Raises:
            TooManyFailures: One line naming every stage over the limit.
        """
        over = [
            f"{failed} of {total} {what} failed" + (f" (see {where})" if where else "")
            for failed, total, what, where in stages
            if self.exceeded(failed, total)
        ]
        if over:
            raise TooManyFailures(f"{'; '.join(over)}: more than --max-failures {self} allows")

    def __str__(self) -> str:
        return f"{self.share:g}" if self.share is not None else str(self.count)


class EndpointHealth:
    """Watches one job's calls and says when to stop because the endpoint is dead.

    Args:
        spec: The backend spec, for the message.
        after: Connection failures in a row that stop the job; None never stops it.

    Rules: an authentication error (401/403) stops at once. While no call of the job has got a
    response, ``after`` connection failures in a row stop it (a wrong URL or a server not started),
    as does one request that used up its retries on them. Once the endpoint has answered, only
    ``after`` requests in a row that each used up their retries on connection failures stop it,
    so a server restarting mid-job is waited for with the usual backoff.
    """

    def __init__(self, spec: str, after: int | None = FAIL_FAST_AFTER):
        self.spec, self.after = spec, after
        self.reached = False
        self.calls = 0
        self.failed_attempts = 0  # connection failures in a row
        self.failed_requests = 0  # requests in a row that ran out of retries on connection failures

    def responded(self) -> None:
        """A call got a response (a completion, or any HTTP error): the endpoint is there."""
        self.reached = True
        self.failed_attempts = self.failed_requests = 0

    def attempt_failed(self, exc: BackendError) -> None:
        """Count a failed attempt; raises :class:`EndpointUnavailable` when the job must stop."""
        kind = getattr(exc, "kind", None)
        if kind == AUTH:
            hint = getattr(exc, "hint", None)
            raise self._stop(AUTH, exc, f"authentication failed{f'; {hint}' if hint else ''}")
        if kind != CONNECT:
            self.responded()
            return
        self.failed_attempts += 1
        if self.after is not None and not self.reached and self.failed_attempts >= self.after:
            raise self._stop(
                CONNECT, exc, f"{self.failed_attempts} connection failures in a row, none reached it"
            )

    def request_failed(self, exc: BackendError) -> None:
        """A request ran out of retries on ``exc``; raises when the job must stop."""
        if getattr(exc, "kind", None) != CONNECT or self.after is None:
            return
        self.failed_requests += 1
        if not self.reached or self.failed_requests >= self.after:
            raise self._stop(
                CONNECT,
                exc,
                f"{self.failed_requests} request(s) in a row used up their retries on connection failures",
            )

    def _stop(self, kind: str, exc: BackendError, why: str) -> EndpointUnavailable:
        error = str(exc) or type(exc).__name__
        what = "rejected the credentials" if kind == AUTH else "cannot be reached"
        message = (
            f"{self.spec} {what}: {error} ({why}). Stopped after {self.calls} call(s); finished work is kept "
            "in the store: rerun the same command to continue."
        )
        return EndpointUnavailable(message, kind=kind, spec=self.spec, error=error, calls=self.calls)
