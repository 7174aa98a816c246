"""Sending one API request: retries, typed errors, and the token kept to its origin.

Calls build their request with a generated endpoint's `_get_kwargs(...)` and send it here, through
the client's own httpx client, instead of through the generated `sync_detailed`: docs/design.md
("The SDK sends the generated requests itself") says why.

    response = send(client, get_prediction._get_kwargs(prediction_id), idempotent=True)
    prediction = parse_prediction(response, client)

`send` / `async_send` also take absolute URLs (a prediction's `urls.stream`, an output file): the
`Authorization` header goes only to the origin of the client's base URL. With `stream=True` a
successful response comes back unread; close it (or use `open_stream` / `async_open_stream`).

Every call has a total deadline (`_deadline`): the client's `call_timeout` unless the caller
gives one, retries and waits included, whatever the server does. Bodies read whole are limited
to `ResponseLimits.max_body_bytes` and their JSON to `max_json_depth` (`_limits`).

The retry loop's decisions live in `_Attempts`, shared by the sync and async drivers; the policy
itself is pure, in `_retry`.
"""

from __future__ import annotations

import datetime
import http
import json
import logging
import math
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any, cast

import anyio
import httpx

from inference_api_client import AuthenticatedClient
from inference_api_client.models.prediction import Prediction
from inference_api_client.models.prediction_response import PredictionResponse

from ._deadline import DEFAULT_CALL_TIMEOUT, DEFAULT_RUN_TIMEOUT, DeadlineExpired, deadline_after, sync_deadline
from ._fields import check_model
from ._limits import DEFAULT_LIMITS, JSONTooDeep, ResponseLimits, loads
from ._pool import queue_beyond_pool
from ._retry import Decision, Failure, RetryPolicy, parse_retry_after
from ._security import (
    RedirectRefused,
    excerpt,
    keep_out_of_logs,
    mentions,
    redact,
    redact_value,
    refuse_token_in_url,
    same_origin,
    scrub,
    scrubbed,
)
from .errors import (
    APIConnectionError,
    APIError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    status_error_class,
)
from .responses import MAX_ERROR_BODY, RawResponse
from .responses import record as record_response

if TYPE_CHECKING:
    from ._deadline_async import AsyncDeadline

__all__ = [
    "DEFAULT_RETRY",
    "aiter_body",
    "async_deadline",
    "async_open_stream",
    "async_send",
    "attempts_of",
    "body_error",
    "bounded_timeout",
    "build_request",
    "call_deadline",
    "checked_url",
    "classify_transport_error",
    "error_from_response",
    "is_timeout",
    "iter_body",
    "limits_of",
    "logger",
    "open_stream",
    "parse_prediction",
    "retry_policy",
    "run_deadline",
    "secrets_of",
    "send",
]

logger = logging.getLogger("inference_api")

DEFAULT_RETRY = RetryPolicy()

# Headers that carry a request id, in the order they are looked for.
_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-amzn-requestid", "x-amz-request-id", "x-correlation-id")
_EXCERPT_LENGTH = 200
# Errors that no retry can cure: a wrong URL scheme, a redirect loop, a body httpx cannot decode.
_PERMANENT_ERRORS = (
    httpx.UnsupportedProtocol,
    httpx.TooManyRedirects,
    httpx.DecodingError,
    httpx.LocalProtocolError,
    RedirectRefused,
)
_ATTEMPTS_KEY = "inference_api.attempts"


def retry_policy(client: AuthenticatedClient) -> RetryPolicy:
    """The client's retry policy: what `connect(retries=...)` set, else the default."""
    policy = getattr(client, "retry", None)
    return policy if isinstance(policy, RetryPolicy) else DEFAULT_RETRY


def _secrets(client: AuthenticatedClient) -> tuple[str, ...]:
    return (client.token,)


secrets_of = _secrets


def limits_of(client: AuthenticatedClient) -> ResponseLimits:
    """The client's response limits: what `connect(limits=...)` set, else the defaults."""
    limits = getattr(client, "limits", None)
    return limits if isinstance(limits, ResponseLimits) else DEFAULT_LIMITS


class _Deadline(float):
    """A deadline on `time.monotonic()` that remembers the timeout it was set from: a call that
    reads its input's files before its first request still says "within 120 s", not what was left."""

    seconds: float


def _deadline_in(seconds: float) -> float:
    deadline = _Deadline(time.monotonic() + seconds)
    deadline.seconds = seconds
    return deadline


def call_deadline(client: AuthenticatedClient, deadline: float | None = None) -> float:
    """`deadline`, or else the client's `call_timeout` from now; `math.inf` when there is none."""
    if deadline is not None:
        return deadline
    timeout = getattr(client, "call_timeout", DEFAULT_CALL_TIMEOUT)
    return math.inf if timeout is None else _deadline_in(timeout)


def run_deadline(client: AuthenticatedClient, timeout: float | None = None) -> float:
    """The deadline of a run or a stream: `timeout` (else the client's `run_timeout`) from now."""
    seconds = timeout if timeout is not None else getattr(client, "run_timeout", DEFAULT_RUN_TIMEOUT)
    if deadline_after(seconds) is None:  # also refuses a negative or NaN timeout
        return math.inf
    return _deadline_in(seconds)


def async_deadline(deadline: float) -> AsyncDeadline:
    """A timer for one async call or stream connection (asyncio is imported by the first async call)."""
    from ._deadline_async import AsyncDeadline

    return AsyncDeadline(deadline)


def checked_url(url: httpx.URL | str, *, secrets: tuple[str, ...] = ()) -> httpx.URL:
    """`url` parsed; a ValueError saying what is wrong (secrets left out) when httpx cannot request it.

    httpx raises `httpx.InvalidURL` (not an `httpx.RequestError`) for a malformed URL, and an
    IDNA error only when the host is first read. Only http(s) URLs with a host, and references
    relative to the base URL, are requested: httpx takes `file:///etc/passwd`, `data:...` or
    `javascript:...` for paths on the base URL (with its token).
    """
    try:
        parsed = httpx.URL(url)
        host = parsed.host  # decodes an IDNA host, which raises when it is malformed
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise ValueError(redact(f"not a valid URL: {exc}", secrets)) from None
    scheme = parsed.scheme.lower()
    if scheme not in ("", "http", "https") or (scheme and not host):
        shown = redact(scheme, secrets)[:20]
        raise ValueError(f"not an http:// or https:// URL (scheme {shown!r})")
    return parsed


# A path httpx would leave as it is: unreserved and sub-delimiter characters, valid escapes, no
# query or fragment (what the generated endpoints make of checked ids), and no `.` or `..` segment.
_PLAIN_PATH = re.compile(r"/(?!/)(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*")
_DOT_SEGMENT = re.compile(r"/\.\.?(?:/|$)")


def _on_base_url(base_url: httpx.URL, path: str) -> httpx.URL | None:
    """`path` joined to the base URL as httpx would join it, without parsing either again; None when
    httpx must do it (a path with a query, characters to encode or dot segments; a base URL with a
    query).

    httpx parses the relative URL, then the base URL with the new path, in pure Python: ~60% of
    what building a request costs. tests/extensions/test_http_fast_paths.py checks that both joins agree.
    """
    reference = getattr(base_url, "_uri_reference", None)
    if (
        reference is None
        or reference.query is not None
        or reference.fragment is not None
        or not _PLAIN_PATH.fullmatch(path)
        or _DOT_SEGMENT.search(path)
    ):
        return None
    base_path = reference.path or "/"  # httpx gives a base URL a trailing slash
    if not base_path.endswith("/"):
        return None
    joined = httpx.URL.__new__(httpx.URL)
    joined._uri_reference = reference._replace(path=base_path + path[1:])
    return joined


def build_request(
    client: AuthenticatedClient, http_client: httpx.Client | httpx.AsyncClient, request_kwargs: Mapping[str, Any]
) -> httpx.Request:
    """Build the request; drop the client's credentials when its URL is not on the base URL's origin.

    A malformed URL (the caller's: endpoints build theirs from checked ids) is a ValueError.
    """
    url = request_kwargs["url"]
    if isinstance(url, str) and url.startswith("/"):
        joined = _on_base_url(http_client.base_url, url)
        if joined is not None:  # on the base URL's origin, by construction
            return http_client.build_request(**{**request_kwargs, "url": joined})
    checked_url(url, secrets=_secrets(client))
    request = http_client.build_request(**request_kwargs)
    if not same_origin(request.url, http_client.base_url):
        request.headers.pop(client.auth_header_name, None)
    return request


def _aiohttp_cause(exc: httpx.RequestError) -> BaseException | None:
    cause = exc.__cause__
    return cause if cause is not None and type(cause).__module__.startswith("aiohttp") else None


def is_timeout(exc: httpx.RequestError) -> bool:
    """Whether the request failed for lack of time (rather than being refused or cut)."""
    cause = _aiohttp_cause(exc)
    if cause is not None:
        # httpx-aiohttp maps every aiohttp.ClientConnectionError to httpx.ConnectTimeout, a refused
        # connection included; aiohttp's own timeout errors all derive from TimeoutError.
        return isinstance(cause, TimeoutError)
    return isinstance(exc, httpx.TimeoutException)


def classify_transport_error(exc: httpx.RequestError) -> Failure:
    """Whether the request can have reached the server, from how it failed."""
    cause = _aiohttp_cause(exc)
    if cause is not None:
        # httpx-aiohttp's mapping also turns ServerDisconnectedError (the server closed the
        # connection after reading the request) into httpx.ConnectTimeout, so its httpx class
        # cannot say whether a POST may be sent again: the aiohttp cause can.
        import aiohttp  # here: only reached when the optional aiohttp transport is in use

        if isinstance(cause, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
            return Failure.NOT_SENT
    elif isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return Failure.NOT_SENT
    return Failure.TIMEOUT if is_timeout(exc) else Failure.CONNECTION


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _excerpt(body: bytes, content_type: str, secrets: tuple[str, ...]) -> str:
    """A readable line from a body that is not JSON, such as a proxy's HTML error page; redacted
    before it is cut (a secret cut in two would no longer match)."""
    text = body.decode("utf-8", errors="replace")
    if "html" in content_type.lower() or text.lstrip().startswith("<"):
        text = re.sub(r"<(script|style)\b.*?</\1\s*>", " ", text, flags=re.IGNORECASE | re.DOTALL)
        text = re.sub(r"<[^>]*>", " ", text)
    return excerpt(_collapse(text), _EXCERPT_LENGTH, secrets)


def _detail(body: bytes, content_type: str, max_depth: int, secrets: tuple[str, ...]) -> Any:
    """FastAPI's `detail` (a string or a list of issues), other JSON as is, or a readable excerpt."""
    try:
        payload = loads(body, max_depth)
    except (ValueError, UnicodeDecodeError):  # JSONTooDeep included: its start is shown as text
        return _excerpt(body, content_type, secrets)
    if isinstance(payload, dict) and "detail" in payload:
        return payload["detail"]
    return payload


def _summary(detail: Any, secrets: tuple[str, ...]) -> str:
    if isinstance(detail, str):
        return _collapse(detail)
    if isinstance(detail, list) and all(isinstance(issue, dict) for issue in detail):
        parts = []
        for issue in detail:
            loc = ".".join(str(part) for part in issue.get("loc", ()))
            parts.append(f"{loc}: {issue.get('msg', '')}" if loc else str(issue.get("msg", "")))
        return "; ".join(parts)
    return "" if detail is None else _excerpt(json.dumps(detail).encode(), "application/json", secrets)


def _reason_phrase(status_code: int, fallback: str) -> str:
    try:
        return http.HTTPStatus(status_code).phrase
    except ValueError:
        return fallback


def _request_id(headers: httpx.Headers) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        if value := headers.get(name):
            return str(value)
    return None


def _describe(request: httpx.Request) -> str:
    # Without the query: signed file URLs carry their credentials there.
    url = request.url.copy_with(query=None, fragment=None) if request.url.query else request.url
    return f"{request.method} {url}"


def error_from_response(
    response: httpx.Response,
    *,
    attempts: int = 1,
    secrets: tuple[str, ...] = (),
    now: datetime.datetime | None = None,
    max_json_depth: int = DEFAULT_LIMITS.max_json_depth,
) -> APIStatusError:
    """The typed error for an error response whose body has been read."""
    status_code = response.status_code
    content_type = response.headers.get("content-type", "")
    detail = redact_value(_detail(response.content, content_type, max_json_depth, secrets), secrets)
    retry_after = None
    if status_code == 429 or status_code >= 500:
        retry_after = parse_retry_after(response.headers.get("retry-after"), now or datetime.datetime.now(datetime.UTC))
    phrase = _reason_phrase(status_code, response.reason_phrase)
    summary = _summary(detail, secrets)
    message = f"{status_code} {phrase}".rstrip() + f" from {_describe(response.request)}"
    if summary:
        message += f": {summary}"
    request_id = _request_id(response.headers)
    error = status_error_class(status_code)(
        redact(message, secrets),
        status_code=status_code,
        detail=detail,
        request_id=redact(request_id, secrets) if request_id else None,
        attempts=attempts,
        retry_after=retry_after,
    )
    error.response = RawResponse.from_httpx(response, secrets, max_body=MAX_ERROR_BODY)
    return error


def _transport_error(exc: httpx.RequestError, failure: Failure, attempts: int, secrets: tuple[str, ...]) -> APIError:
    request = exc.request if _has_request(exc) else None
    where = f" ({_describe(request)})" if request is not None else ""
    what = str(exc) or type(exc).__name__
    if is_timeout(exc):
        cls: type[APIError] = APITimeoutError
        kind = "timed out"
    elif isinstance(exc, httpx.DecodingError):
        cls, kind = APIResponseError, "could not decode the response"
    elif failure is Failure.NOT_SENT:
        cls, kind = APIConnectionError, "could not connect"
    else:
        cls, kind = APIConnectionError, "connection failed"
    return cls(redact(f"{kind}{where}: {what}", secrets), attempts=attempts)


def _safe_cause(exc: BaseException, secrets: tuple[str, ...]) -> BaseException | None:
    """`exc`, to chain as the cause of our error, unless its message quotes a secret (then None).

    What is chained to `exc` in turn (an h11 or aiohttp error quoting a broken chunk line) is cut
    where it quotes one.
    """
    return None if mentions(str(exc), secrets) or mentions(repr(exc), secrets) else scrub(exc, secrets)


def _has_request(exc: httpx.RequestError) -> bool:
    try:
        exc.request  # noqa: B018 (the property raises when the error carries no request)
    except RuntimeError:
        return False
    return True


class _BodyTooLarge(Exception):
    """Internal: a body read whole was over `ResponseLimits.max_body_bytes` (the response is closed)."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__()
        self.response = response


# A socket timeout cut to the time left fires at the deadline, give or take the clock's grain.
_DEADLINE_SLACK = 0.005


class _Attempts:
    """The state and decisions of one call's retry loop, shared by the sync and async drivers."""

    def __init__(self, client: AuthenticatedClient, *, idempotent: bool, deadline: float) -> None:
        self.policy = retry_policy(client)
        self.secrets = _secrets(client)
        keep_out_of_logs(client)
        self.limits = limits_of(client)
        self.idempotent = idempotent
        self.deadline = deadline  # math.inf: none
        self.started = time.monotonic()
        self.number = 0
        self.attempt_started = self.started
        # with_options(read_timeout=...) and with_options(headers=...): for each attempt of this call.
        self.timeout: httpx.Timeout | None = getattr(client, "request_timeout", None)
        self.headers: Mapping[str, str] = getattr(client, "extra_headers", None) or {}
        self.request: httpx.Request | None = None

    def start(self, request_kwargs: Mapping[str, Any], default_timeout: httpx.Timeout) -> Mapping[str, Any]:
        """Count the attempt; its request arguments, timeouts cut to the time left before the deadline."""
        self.number += 1
        self.attempt_started = time.monotonic()
        if self.timeout is not None or self.headers:
            request_kwargs = self._with_options(request_kwargs)
        if self.deadline == math.inf:
            return request_kwargs
        given = request_kwargs.get("timeout")
        timeout = default_timeout if given is None else httpx.Timeout(given)
        bounded = bounded_timeout(timeout, self.deadline)
        if bounded is default_timeout:  # the client's own, untouched: httpx applies it
            return request_kwargs
        return {**request_kwargs, "timeout": bounded}

    def _with_options(self, request_kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
        kwargs = dict(request_kwargs)
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        if self.headers:
            kwargs["headers"] = {**(request_kwargs.get("headers") or {}), **self.headers}
        return kwargs

    def deadline_error(self) -> APITimeoutError:
        """The error for a call that reached its total deadline."""
        where = f"{_describe(self.request)} " if self.request is not None else "the call "
        seconds = getattr(self.deadline, "seconds", self.deadline - self.started)
        message = f"{where}did not finish within {seconds:.4g} s, its total timeout"
        return APITimeoutError(redact(message, self.secrets), attempts=self.number)

    def too_large(self, response: httpx.Response) -> APIResponseError:
        limit = self.limits.max_body_bytes
        return APIResponseError(
            redact(
                f"{response.status_code} from {_describe(response.request)}: the body is larger than {limit} bytes "
                "(ResponseLimits.max_body_bytes)",
                self.secrets,
            ),
            status_code=response.status_code,
            request_id=_redacted_request_id(response.headers, self.secrets),
            attempts=self.number,
        )

    def after_transport_error(self, exc: httpx.RequestError) -> float:
        """Seconds to wait before the next attempt; raises the typed error when giving up."""
        cause = _safe_cause(exc, self.secrets)
        if is_timeout(exc) and time.monotonic() >= self.deadline - _DEADLINE_SLACK:
            raise self.deadline_error() from cause
        failure = classify_transport_error(exc)
        error = _transport_error(exc, failure, self.number, self.secrets)
        if isinstance(exc, _PERMANENT_ERRORS):
            raise error from cause
        decision = self.policy.decide(
            attempt=self.number,
            idempotent=self.idempotent,
            failure=failure,
            rand=random.random(),  # noqa: S311 (jitter, not cryptography)
        )
        return self._delay_or_raise(error, decision, cause)

    def after_error_status(self, response: httpx.Response) -> float:
        """Seconds to wait before the next attempt; raises the typed error when giving up."""
        error = error_from_response(
            response, attempts=self.number, secrets=self.secrets, max_json_depth=self.limits.max_json_depth
        )
        decision = self.policy.decide(
            attempt=self.number,
            idempotent=self.idempotent,
            failure=Failure.STATUS,
            status_code=response.status_code,
            retry_after=error.retry_after,
            rand=random.random(),  # noqa: S311 (jitter, not cryptography)
        )
        return self._delay_or_raise(error, decision, None)

    def _delay_or_raise(self, error: APIError, decision: Decision, cause: BaseException | None) -> float:
        reason = decision.reason
        if decision.retry:
            if time.monotonic() + decision.delay < self.deadline:
                self._log_retry(error.message, decision.delay)
                return decision.delay
            reason = f"not retried: waiting {decision.delay:.2f} s would pass the deadline"
        if reason:
            error.message = f"{error.message}; {reason}"
        raise error from cause

    def succeeded(self, response: httpx.Response) -> httpx.Response:
        response.extensions[_ATTEMPTS_KEY] = self.number
        return response

    def log_response(self, response: httpx.Response) -> None:
        """Log the response (DEBUG) and record it for `capture_responses()`."""
        if logger.isEnabledFor(logging.DEBUG):
            took = (time.monotonic() - self.attempt_started) * 1000
            message = (
                f"{_describe(response.request)} -> {response.status_code} in {took:.0f} ms (attempt {self.number})"
            )
            logger.debug(redact(message, self.secrets))
        record_response(response, self.secrets)

    def _log_retry(self, message: str, delay: float) -> None:
        logger.info(
            redact(
                f"{message}; retrying in {delay:.2f} s (attempt {self.number + 1} of {self.policy.max_attempts})",
                self.secrets,
            )
        )


def bounded_timeout(timeout: httpx.Timeout, deadline: float) -> httpx.Timeout:
    """`timeout` with every phase cut to the time left before `deadline` (on `time.monotonic()`);
    `timeout` itself when no phase is longer than that."""
    left = max(0.001, deadline - time.monotonic())
    phases = (timeout.connect, timeout.read, timeout.write, timeout.pool)
    if all(phase is not None and phase <= left for phase in phases):
        return timeout

    def cut(value: float | None) -> float:
        return left if value is None else min(value, left)

    return httpx.Timeout(
        connect=cut(timeout.connect), read=cut(timeout.read), write=cut(timeout.write), pool=cut(timeout.pool)
    )


def _declared_length(response: httpx.Response) -> int | None:
    length = response.headers.get("content-length", "")
    return int(length) if length.isdigit() else None


def _read_body(response: httpx.Response, limit: int) -> None:
    """Read the body whole, up to `limit` bytes: a success over it raises `_BodyTooLarge`; an error
    status is cut there (its start is all an error message shows). Instead of `response.read()`."""
    cut = not response.is_success
    declared = _declared_length(response)
    if not cut and declared is not None and declared > limit:
        response.close()
        raise _BodyTooLarge(response)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            response.close()
            if not cut:
                raise _BodyTooLarge(response)
            chunks.append(chunk[: len(chunk) - (size - limit)])
            break
        chunks.append(chunk)
    response._content = b"".join(chunks)  # what `read()` sets; `content` reads it


async def _aread_body(response: httpx.Response, limit: int) -> None:
    """`_read_body` for async code."""
    cut = not response.is_success
    declared = _declared_length(response)
    if not cut and declared is not None and declared > limit:
        await response.aclose()
        raise _BodyTooLarge(response)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            await response.aclose()
            if not cut:
                raise _BodyTooLarge(response)
            chunks.append(chunk[: len(chunk) - (size - limit)])
            break
        chunks.append(chunk)
    response._content = b"".join(chunks)


_SET_COOKIE = (b"set-cookie", b"set-cookie2")  # the headers http.cookiejar reads


class _Cookies(httpx.Cookies):
    """httpx's cookie jar, which skips responses that set no cookie.

    httpx hands every response to `http.cookiejar` through urllib stand-ins it builds for the
    request and the response, parsing the URL once more: ~8% of the CPU of an async GET on the aiohttp
    transport, for an API that sets no cookie (benchmarks/bench_calls.py).
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        for name, _ in response.headers.raw:
            if name.lower() in _SET_COOKIE:
                super().extract_cookies(response)
                return


_PREPARED = "_inference_api_prepared"


def _prepare(http_client: httpx.Client | httpx.AsyncClient, secrets: tuple[str, ...]) -> None:
    """Once per httpx client: its cookie jar skips responses without cookies; a sync client's own
    transports honour `sync_deadline` (`_deadline_sync.bound_sync_reads`), an async client's own pools
    queue the requests beyond their connections (`_pool`); every request it sends, redirects
    included, is refused before its host is resolved when its URL carries a secret. Cheap to call again."""
    if getattr(http_client, _PREPARED, False):
        return
    hooks = http_client.event_hooks
    if isinstance(http_client, httpx.Client):
        from ._deadline_sync import bound_sync_reads  # httpcore: imported when a client is made

        bound_sync_reads(http_client)

        def refuse(request: httpx.Request) -> None:
            refuse_token_in_url(request, secrets)

        hooks["request"] = [refuse, *hooks["request"]]
    else:
        queue_beyond_pool(http_client)

        async def async_refuse(request: httpx.Request) -> None:
            refuse_token_in_url(request, secrets)

        hooks["request"] = [async_refuse, *hooks["request"]]
    http_client.event_hooks = hooks
    cookies = getattr(http_client, "_cookies", None)
    if type(cookies) is httpx.Cookies:  # the client's own jar, shared: cookies set before stay
        http_client._cookies = _Cookies(cookies.jar)
    setattr(http_client, _PREPARED, True)


def _sleep(client: AuthenticatedClient) -> Callable[[float], object]:
    return cast(Callable[[float], object], getattr(client, "sleep", None) or time.sleep)


def _async_sleep(client: AuthenticatedClient) -> Callable[[float], Awaitable[object]]:
    return cast(Callable[[float], Awaitable[object]], getattr(client, "async_sleep", None) or anyio.sleep)


def send(
    client: AuthenticatedClient,
    request_kwargs: Mapping[str, Any],
    *,
    idempotent: bool,
    stream: bool = False,
    deadline: float | None = None,
) -> httpx.Response:
    """Send a request with retries and return its 2xx response, or raise an `inference_api.errors` error.

    `request_kwargs` are `httpx.Client.build_request` arguments, such as a generated endpoint's
    `_get_kwargs(...)`; a URL may be absolute, and then carries the token only to the base URL's
    origin. `idempotent` selects the retry rules (get and cancel: True; create and run: False).
    With `stream=True` the 2xx response is returned unread and the caller must close it (and
    bound its reading: see `_deadline`).
    `deadline` (on `time.monotonic()`; `math.inf` for none) bounds the whole call, by default the
    client's `call_timeout` from now: each attempt's timeouts are cut to the time left, no retry
    waits past it, and no socket operation outlasts it (`APITimeoutError`). A malformed URL is a
    ValueError, before any request.
    """
    http_client = client.get_httpx_client()
    _prepare(http_client, _secrets(client))
    attempts = _Attempts(client, idempotent=idempotent, deadline=call_deadline(client, deadline))
    sleep = _sleep(client)
    limit = attempts.limits.max_body_bytes
    in_force = sync_deadline.set(None if attempts.deadline == math.inf else attempts.deadline)
    try:
        while True:
            kwargs = attempts.start(request_kwargs, http_client.timeout)
            attempts.request = request = build_request(client, http_client, kwargs)
            try:
                response = http_client.send(request, stream=True)
                try:
                    if not (stream and response.is_success):
                        _read_body(response, limit)
                except BaseException:
                    response.close()
                    raise
            except httpx.RequestError as exc:
                sleep(attempts.after_transport_error(exc))
                continue
            except _BodyTooLarge as exc:
                raise attempts.too_large(exc.response) from None
            attempts.log_response(response)
            if response.is_success:
                return attempts.succeeded(response)
            sleep(attempts.after_error_status(response))
    except Exception as error:  # raised inside `except` clauses: the raw error is its __context__
        scrub(error, attempts.secrets)
        raise
    finally:
        sync_deadline.reset(in_force)


async def _async_attempt(
    http_client: httpx.AsyncClient, request: httpx.Request, stream: bool, limit: int
) -> httpx.Response:
    response = await http_client.send(request, stream=True)
    try:
        if not (stream and response.is_success):
            await _aread_body(response, limit)
    except BaseException:
        # Shielded: after a cancellation (the deadline's), the connection must still be released.
        with anyio.CancelScope(shield=True):
            await response.aclose()
        raise
    return response


async def async_send(
    client: AuthenticatedClient,
    request_kwargs: Mapping[str, Any],
    *,
    idempotent: bool,
    stream: bool = False,
    deadline: float | None = None,
) -> httpx.Response:
    """`send` for async code, through the client's `httpx.AsyncClient`.

    The deadline cancels whatever the attempt awaits (a transport stuck on a malformed chunk
    included) and raises `APITimeoutError`.
    """
    http_client = client.get_async_httpx_client()
    _prepare(http_client, _secrets(client))
    attempts = _Attempts(client, idempotent=idempotent, deadline=call_deadline(client, deadline))
    sleep = _async_sleep(client)
    limit = attempts.limits.max_body_bytes
    guard = None if attempts.deadline == math.inf else async_deadline(attempts.deadline)
    try:
        while True:
            kwargs = attempts.start(request_kwargs, http_client.timeout)
            attempts.request = request = build_request(client, http_client, kwargs)
            attempt = _async_attempt(http_client, request, stream, limit)
            try:
                response = await (attempt if guard is None else guard.run(attempt))
            except httpx.RequestError as exc:
                await sleep(attempts.after_transport_error(exc))
                continue
            except DeadlineExpired:
                raise attempts.deadline_error() from None
            except _BodyTooLarge as exc:
                raise attempts.too_large(exc.response) from None
            attempts.log_response(response)
            if response.is_success:
                return attempts.succeeded(response)
            await sleep(attempts.after_error_status(response))
    except Exception as error:  # raised inside `except` clauses: the raw error is its __context__
        scrub(error, attempts.secrets)
        raise
    finally:
        if guard is not None:
            guard.close()


@contextmanager
def open_stream(
    client: AuthenticatedClient, request_kwargs: Mapping[str, Any], *, idempotent: bool, deadline: float | None = None
) -> Iterator[httpx.Response]:
    """`send(..., stream=True)` as a context manager that always closes the response."""
    response = send(client, request_kwargs, idempotent=idempotent, stream=True, deadline=deadline)
    try:
        yield response
    finally:
        response.close()


@asynccontextmanager
async def async_open_stream(
    client: AuthenticatedClient, request_kwargs: Mapping[str, Any], *, idempotent: bool, deadline: float | None = None
) -> AsyncIterator[httpx.Response]:
    """`async_send(..., stream=True)` as a context manager that always closes the response."""
    response = await async_send(client, request_kwargs, idempotent=idempotent, stream=True, deadline=deadline)
    try:
        yield response
    finally:
        await response.aclose()


def _body_deadline_error(response: httpx.Response, seconds: float, secrets: tuple[str, ...]) -> APITimeoutError:
    message = f"{_describe(response.request)} did not finish within {seconds:.4g} s, its total timeout"
    return APITimeoutError(redact(message, secrets), attempts=attempts_of(response))


def iter_body(
    client: AuthenticatedClient,
    response: httpx.Response,
    *,
    deadline: float,
    seconds: float,
    chunk_size: int | None = None,
) -> Iterator[bytes]:
    """A streamed body's chunks, read by `deadline` (`math.inf`: none) with `inference_api.errors` errors.

    Every socket read is cut to the time left (see `_deadline`): past it, `APITimeoutError`, which
    says the call had `seconds` in all. An httpx error becomes its typed error as `send` types it
    (see `body_error`).
    """
    secrets = _secrets(client)
    with scrubbed(secrets):  # raised inside `except` clauses: the raw error is their __context__
        yield from _iter_body(client, response, deadline, seconds, chunk_size, secrets)


def _iter_body(
    client: AuthenticatedClient,
    response: httpx.Response,
    deadline: float,
    seconds: float,
    chunk_size: int | None,
    secrets: tuple[str, ...],
) -> Iterator[bytes]:
    chunks = response.iter_bytes(chunk_size)
    while True:
        in_force = sync_deadline.set(None if deadline == math.inf else deadline)
        try:
            chunk = next(chunks, None)
        except httpx.RequestError as exc:
            if is_timeout(exc) and time.monotonic() >= deadline - _DEADLINE_SLACK:
                raise _body_deadline_error(response, seconds, secrets) from None
            error = body_error(client, response, exc)
            raise error from error.__cause__
        finally:
            sync_deadline.reset(in_force)
        if chunk is None:
            return
        yield chunk
        if time.monotonic() >= deadline:
            raise _body_deadline_error(response, seconds, secrets)


async def aiter_body(
    client: AuthenticatedClient,
    response: httpx.Response,
    *,
    deadline: float,
    seconds: float,
    chunk_size: int | None = None,
) -> AsyncIterator[bytes]:
    """`iter_body` for async code: one timer for the whole body cancels a read past `deadline`."""
    secrets = _secrets(client)
    chunks = response.aiter_bytes(chunk_size)
    guard = None if deadline == math.inf else async_deadline(deadline)
    try:
        while True:
            try:
                chunk = await (chunks.__anext__() if guard is None else guard.run(chunks.__anext__()))
            except StopAsyncIteration:
                return
            except DeadlineExpired:
                raise _body_deadline_error(response, seconds, secrets) from None
            except httpx.RequestError as exc:
                error = body_error(client, response, exc)
                raise error from error.__cause__
            yield chunk
    except Exception as error:  # raised inside `except` clauses: the raw error is its __context__
        scrub(error, secrets)
        raise
    finally:
        if guard is not None:
            guard.close()


def body_error(client: AuthenticatedClient, response: httpx.Response, exc: httpx.RequestError) -> APIError:
    """The typed error for an httpx error raised while reading a streamed body, as `send` types it.

    A cut connection is an `APIConnectionError` (`APITimeoutError`), a body httpx cannot decode
    (a corrupt gzip stream) an `APIResponseError`. Its `__cause__` is already set: `exc`, or None
    when `exc` quotes a secret; raise it `from error.__cause__`.
    """
    secrets = _secrets(client)
    error = _transport_error(exc, classify_transport_error(exc), attempts_of(response), secrets)
    error.__cause__ = _safe_cause(exc, secrets)
    return error


def attempts_of(response: httpx.Response) -> int:
    """How many attempts `send` made to get this response."""
    return int(response.extensions.get(_ATTEMPTS_KEY, 1))


def _redacted_request_id(headers: httpx.Headers, secrets: tuple[str, ...]) -> str | None:
    request_id = _request_id(headers)
    return redact(request_id, secrets) if request_id else None


def parse_prediction(response: httpx.Response, client: AuthenticatedClient) -> Prediction:
    """The prediction in a 2xx response's `{"data": ...}` envelope; `APIResponseError` when it is not one.

    JSON nested deeper than the client's `ResponseLimits.max_json_depth` is not one either, nor
    a prediction whose `status` is not a string.
    """
    with scrubbed(_secrets(client)):  # raised inside `except` clauses: the raw error is their __context__
        return _parse_prediction(response, client)


def _parse_prediction(response: httpx.Response, client: AuthenticatedClient) -> Prediction:
    try:
        payload = loads(response.content, limits_of(client).max_json_depth)
    except JSONTooDeep as exc:
        raise _not_a_prediction(response, client, f": {exc} (ResponseLimits.max_json_depth)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        shown = _excerpt(response.content, response.headers.get("content-type", ""), _secrets(client))
        error = _not_a_prediction(response, client, f" is not JSON: {shown!r}", shown)
        raise error from _safe_cause(exc, _secrets(client))
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        problem = TypeError("expected an object with a `data` object")
        error = _not_a_prediction(response, client, f" is not a prediction envelope: {problem!r}", payload)
        raise error from _safe_cause(problem, _secrets(client))
    status = data.get("status", "")
    if not isinstance(status, str):
        # The generated model would keep it as is, and a wait would poll it to its deadline.
        shown = excerpt(json.dumps(status), 40, _secrets(client))
        raise _not_a_prediction(response, client, f": the prediction's status is {shown}, not a string", payload)
    check_model()  # a field the SDK reads that the regenerated model lacks: APIResponseError, not AttributeError later
    try:
        return PredictionResponse.from_dict(payload).data
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        error = _not_a_prediction(response, client, f" is not a prediction envelope: {exc!r}", payload)
        raise error from _safe_cause(exc, _secrets(client))


_NO_DETAIL = object()


def _not_a_prediction(
    response: httpx.Response, client: AuthenticatedClient, tail: str, detail: Any = _NO_DETAIL
) -> APIResponseError:
    """The error for a 2xx response that holds no prediction, its message "<status> from <request><tail>"
    (built only then: the request id and the description cost time a good response need not spend)."""
    secrets = _secrets(client)
    error = APIResponseError(
        redact(f"{response.status_code} from {_describe(response.request)}{tail}", secrets),
        status_code=response.status_code,
        request_id=_redacted_request_id(response.headers, secrets),
        attempts=attempts_of(response),
        **({} if detail is _NO_DETAIL else {"detail": redact_value(detail, secrets)}),
    )
    error.response = RawResponse.from_httpx(response, secrets, max_body=MAX_ERROR_BODY)
    return error
