"""The retry policy, pure: whether a failed attempt is tried again, and after how long.

No I/O and no clock of its own: callers pass the attempt's outcome, a random number and the
current time, and get a `Decision`. `_http` drives it from sync and async code alike.

Why not a library: httpx-retries (0.6) decides by HTTP method, so a POST is retried on every
listed error or on none; it cannot tell a connection that never opened (safe to send again)
from a response lost after the server read the request (sending again would create a second
prediction). It also clamps a long Retry-After to its cap and sleeps anyway, where we give up
and say what the server asked, and it sleeps with `time.sleep`, out of reach of tests.
stamina would need the same classification written as callbacks, plus a runtime dependency,
for what is some sixty lines here.
"""

from __future__ import annotations

import datetime
import enum
import math
from email.utils import parsedate_to_datetime

from attrs import field, frozen
from attrs.validators import ge

__all__ = ["RETRYABLE_STATUSES", "Decision", "Failure", "RetryPolicy", "parse_retry_after"]

# 429 and the statuses of a gateway or server that is briefly unable to answer.
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


class Failure(enum.Enum):
    """How an attempt failed."""

    NOT_SENT = "not sent"  # the connection never opened: the server cannot have seen the request
    CONNECTION = "connection"  # the connection broke after the request may have reached the server
    TIMEOUT = "timeout"  # no answer in time; the server may have the request
    STATUS = "status"  # the server answered with an error status


@frozen
class Decision:
    """What to do after a failed attempt: retry after `delay` seconds, or give up (`reason` says why)."""

    retry: bool
    delay: float = 0.0
    reason: str = ""


@frozen
class RetryPolicy:
    """How calls retry. `RetryPolicy.disabled()` makes one attempt only.

    - `max_attempts`: attempts in all, the first included.
    - Backoff with full jitter: before retry n (n = 1, 2, ...) wait a random time in
      [0, min(backoff_cap, backoff_base * 2 ** (n - 1))] seconds.
    - A `Retry-After` from the server replaces the backoff, up to `max_retry_after` seconds;
      when the server asks for longer, the call gives up at once and the error says so.
    - get and cancel (idempotent) are retried on connection errors, timeouts, 429, 502, 503
      and 504; create and run only when the request never left (the connection did not
      open) or on 429, so that a retry never creates a second prediction.
    """

    max_attempts: int = field(default=4, validator=ge(1))
    backoff_base: float = field(default=0.5, validator=ge(0))
    backoff_cap: float = field(default=8.0, validator=ge(0))
    max_retry_after: float = field(default=60.0, validator=ge(0))

    @classmethod
    def disabled(cls) -> RetryPolicy:
        return cls(max_attempts=1)

    def backoff(self, retry_number: int, rand: float) -> float:
        """Seconds to wait before retry `retry_number` (1 for the first retry); `rand` in [0, 1)."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0 ** min(retry_number - 1, 62))
        return ceiling * rand

    def decide(
        self,
        *,
        attempt: int,
        idempotent: bool,
        failure: Failure,
        status_code: int | None = None,
        retry_after: float | None = None,
        rand: float,
    ) -> Decision:
        """Decide after attempt number `attempt` (1 for the first) failed as `failure`."""
        if not self._retryable(idempotent, failure, status_code):
            if not idempotent and failure in (Failure.CONNECTION, Failure.TIMEOUT):
                return Decision(False, reason="not retried: the server may have received the request")
            return Decision(False)
        if attempt >= self.max_attempts:
            # The error's text adds "(after N attempts)" itself: say it once.
            return Decision(False, reason="" if self.max_attempts == 1 else "gave up")
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return Decision(
                    False,
                    reason=(
                        f"the server asked to retry after {retry_after:g} s, "
                        f"more than max_retry_after={self.max_retry_after:g} s"
                    ),
                )
            return Decision(True, delay=retry_after)
        return Decision(True, delay=self.backoff(attempt, rand))

    @staticmethod
    def _retryable(idempotent: bool, failure: Failure, status_code: int | None) -> bool:
        if failure is Failure.STATUS:
            if status_code == 429:
                return True
            return idempotent and status_code in RETRYABLE_STATUSES
        if failure is Failure.NOT_SENT:
            return True
        return idempotent


def parse_retry_after(value: str | None, now: datetime.datetime) -> float | None:
    """Seconds a `Retry-After` value asks to wait: delay-seconds or an HTTP date (RFC 9110 §10.2.3).

    None when absent or unreadable; a date in the past gives 0. `now` must be timezone-aware.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" dates parse naive; HTTP dates are GMT
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, (when - now).total_seconds())
