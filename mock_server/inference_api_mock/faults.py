"""Fault plans and the request log: what tests script and inspect without touching the client.

A `Fault` says what the next `times` requests to one route get instead of (or on top of) the real
answer; `FaultBook` holds the plan; `RequestLog` keeps the last requests received. Both are shared
between the server's thread and the test's thread, hence the locks. `ControlMiddleware` is the ASGI
layer, outermost, that records requests and applies faults before the app sees anything.

Faults and recorded requests belong to a token: over HTTP (`/_mock/*`), a caller plans faults that
only its own requests get, and sees and clears only its own (tokens are users, as for predictions).
In-process (`MockServer.fault()`, `.requests`), a test plans for every token and sees everything.
Limits are per token, so that one token cannot crowd out or slow down another: at most 1,000 fault
plans waiting (more is refused), and the last 10,000 requests with 64 MiB of bodies recorded;
requests without a valid token have a log of their own, with the same limits, that changes nobody's.
A request looks only at its own token's plans and the in-process ones (not limited in number).
A fault that no HTTP server could send (a 1xx status; a body on 204 or 304) is refused.

    status / body / content_type / retry_after   answer at once with this instead
    malformed_json                               200 (or `status`) with a JSON content type and a body that is not JSON
    delay                                        sleep this long first (then the fault, or the real answer)
    cut_after_events=K                           event streams: end the body cleanly after K events (no `done`)
    close_mid_body                               drop the connection half-way through the body (after K events
                                                 of a stream when `cut_after_events` is also given)
    probability=P                                each matching request gets the fault with probability P (0-1),
                                                 whatever the load: refusals at random; one it spares uses no `times`

A `RateLimit` is a standing plan instead: requests to its route beyond `per_second` (a token bucket
of `burst` requests) get 429 with a `Retry-After`, as a rate-limited service answers.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any

import attrs
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MALFORMED_JSON = b'{"data": {"id": "truncated'
# Answers that carry no body, by definition (RFC 9110).
BODILESS_STATUSES = frozenset({204, 304})
# Per token (and for the requests without a valid token).
MAX_FAULT_PLANS = 1_000
MAX_RECORDED_REQUESTS = 10_000
MAX_RECORDED_BODY_BYTES = 64 * 1024 * 1024
REDACTED = "Bearer <redacted>"


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1")


def _optional_status(instance: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and not 200 <= value <= 599:
        # 1xx are interim answers: no server can end a request with one (h11 refuses to send it).
        raise ValueError("status must be a final HTTP status code (200-599)")


def _not_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative")


def _probability(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0 < value <= 1:
        raise ValueError(f"{attribute.name} must be more than 0 and at most 1")


def _header_value(instance: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    # It goes into a response header as latin-1; a line break would end the header early.
    if value is not None and not all(" " <= character <= "~" for character in value):
        raise ValueError(f"{attribute.name} must be printable ASCII")


def _typed(kind: type | tuple[type, ...], *checks: Any) -> Any:
    """Validators checking the type first: a fault planned over HTTP comes from JSON of any shape,
    and a wrong type would otherwise only fail later, as a 5xx to the request the fault applies to."""
    return [attrs.validators.instance_of(kind), *checks]


def _optional(kind: type | tuple[type, ...], *checks: Any) -> Any:
    return attrs.validators.optional(_typed(kind, *checks))


@attrs.frozen(kw_only=True)
class Fault:
    """What the next `times` requests to `route` ("METHOD /path/{template}") get."""

    route: str = attrs.field(validator=_typed(str))
    times: int = attrs.field(default=1, validator=_typed(int, _positive))
    status: int | None = attrs.field(default=None, validator=_optional(int, _optional_status))
    retry_after: str | None = attrs.field(default=None, validator=_optional(str, _header_value))
    body: str | bytes | None = attrs.field(default=None, validator=_optional((str, bytes)))
    content_type: str | None = attrs.field(default=None, validator=_optional(str, _header_value))
    malformed_json: bool = attrs.field(default=False, validator=_typed(bool))
    delay: float = attrs.field(default=0.0, validator=_typed((int, float), _not_negative))
    cut_after_events: int | None = attrs.field(default=None, validator=_optional(int, _not_negative))
    close_mid_body: bool = attrs.field(default=False, validator=_typed(bool))
    probability: float = attrs.field(default=1.0, validator=_typed((int, float), _probability))

    def __attrs_post_init__(self) -> None:
        if self.status in BODILESS_STATUSES and (self.body is not None or self.malformed_json or self.close_mid_body):
            raise ValueError(
                f"a {self.status} answer has no body: body, malformed_json and close_mid_body cannot apply"
            )

    @property
    def answers_at_once(self) -> bool:
        return self.status is not None or self.body is not None or self.malformed_json

    def response(self) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Status, headers and body of the canned answer."""
        status = self.status or 200
        if status in BODILESS_STATUSES:
            headers = [] if self.retry_after is None else [(b"retry-after", self.retry_after.encode("latin-1"))]
            return status, headers, b""
        if self.malformed_json:
            body, content_type = MALFORMED_JSON, "application/json"
        elif self.body is not None:
            body = self.body.encode() if isinstance(self.body, str) else self.body
            content_type = self.content_type or "text/plain; charset=utf-8"
        else:
            try:
                phrase = HTTPStatus(status).phrase
            except ValueError:
                phrase = f"Injected fault {status}"
            body = b'{"detail":"' + phrase.encode() + b'"}'
            content_type = self.content_type or "application/json"
        headers = [(b"content-type", content_type.encode("latin-1")), (b"content-length", str(len(body)).encode())]
        if self.retry_after is not None:
            headers.append((b"retry-after", self.retry_after.encode("latin-1")))
        return status, headers, body


@attrs.frozen(kw_only=True)
class RateLimit:
    """Requests to `route` beyond `per_second`, in bursts of at most `burst`, get 429 until cleared.

    `retry_after`: the header to send; by default the seconds until the bucket holds a request
    again, with decimals (a real service rounds up to whole seconds).
    """

    route: str = attrs.field(validator=_typed(str))
    per_second: float = attrs.field(validator=_typed((int, float), _not_negative))
    burst: int = attrs.field(default=1, validator=_typed(int, _positive))
    retry_after: str | None = attrs.field(default=None, validator=_optional(str, _header_value))


class _TokenBucket:
    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self.tokens = float(limit.burst)
        self.updated = time.monotonic()

    def refused(self) -> Fault | None:
        """None when a request may pass (one token fewer), else the 429 to answer."""
        now = time.monotonic()
        self.tokens = min(float(self.limit.burst), self.tokens + (now - self.updated) * self.limit.per_second)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        wait = (1 - self.tokens) / self.limit.per_second if self.limit.per_second else 60.0
        retry_after = self.limit.retry_after if self.limit.retry_after is not None else f"{wait:.3f}"
        return Fault(route=self.limit.route, status=429, retry_after=retry_after)


def _template_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("^" + "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts) + "$")


class FaultBook:
    """The fault plan: per owner and route, the faults still to apply, oldest first.

    A fault planned for an owner (a token's fingerprint) applies to that owner's requests only;
    one planned for no owner (None, in-process) applies to everyone's. An owner has at most
    `max_plans` faults waiting; in-process plans are not limited.
    """

    def __init__(
        self, routes: Iterable[tuple[str, str]], max_plans: int = MAX_FAULT_PLANS, dice: random.Random | None = None
    ) -> None:
        self._routes = {f"{method} {path}": (method, _template_pattern(path)) for method, path in routes}
        self.max_plans = max_plans
        self._dice = dice or random.Random()  # noqa: S311 (faults, not secrets)
        self._lock = threading.Lock()
        # owner -> route -> [[order, fault, uses left], ...]; `order` keeps the planning order across routes.
        self._plans: dict[str | None, dict[str, deque[list[Any]]]] = {}
        self._planned: dict[str | None, int] = {}
        self._order = itertools.count()
        self._buckets: list[_TokenBucket] = []

    @property
    def routes(self) -> list[str]:
        return list(self._routes)

    def add(self, fault: Fault, owner: str | None = None) -> None:
        if fault.route not in self._routes:
            raise ValueError(f"unknown route {fault.route!r}; routes are: {', '.join(self._routes)}")
        with self._lock:
            if owner is not None and self._planned.get(owner, 0) >= self.max_plans:
                raise ValueError(
                    f"this token has {self.max_plans} fault plans waiting, the most kept per token: "
                    "let them apply, or clear them (DELETE /_mock/faults)"
                )
            by_route = self._plans.setdefault(owner, {})
            by_route.setdefault(fault.route, deque()).append([next(self._order), fault, fault.times])
            self._planned[owner] = self._planned.get(owner, 0) + 1

    def limit(self, rate_limit: RateLimit) -> None:
        if rate_limit.route not in self._routes:
            raise ValueError(f"unknown route {rate_limit.route!r}; routes are: {', '.join(self._routes)}")
        with self._lock:
            self._buckets.append(_TokenBucket(rate_limit))

    def clear(self, owner: str | None = None) -> None:
        """Forget the plan: all of it (rate limits included), or only what `owner` planned."""
        with self._lock:
            if owner is None:
                self._plans.clear()
                self._planned.clear()
                self._buckets.clear()
            else:
                self._plans.pop(owner, None)
                self._planned.pop(owner, None)

    def take(self, method: str, path: str, owner: str | None = None) -> Fault | None:
        """The fault for this request of `owner`'s, if one is planned (and one use of it fewer)."""
        if not self._buckets and owner not in self._plans and None not in self._plans:
            return None  # nothing planned for this request: no need to find its route
        routes = [
            key
            for key, (route_method, pattern) in self._routes.items()
            if route_method == method and pattern.match(path)
        ]
        with self._lock:
            for bucket in self._buckets:
                if bucket.limit.route in routes and (refused := bucket.refused()) is not None:
                    return refused
            first: tuple[str | None, str, deque[list[Any]]] | None = None
            for planner in {owner, None}:
                by_route = self._plans.get(planner, {})
                for route in routes:
                    queue = by_route.get(route)
                    if queue and (first is None or queue[0][0] < first[2][0][0]):
                        first = (planner, route, queue)
            if first is None:
                return None
            planner, route, queue = first
            entry = queue[0]
            fault: Fault = entry[1]
            if fault.probability < 1 and self._dice.random() >= fault.probability:
                return None  # spared this time: it uses none of its times
            entry[2] -= 1
            if entry[2] == 0:
                queue.popleft()
                self._planned[planner] -= 1
                if not queue:  # an owner with nothing planned leaves no trace
                    del self._plans[planner][route]
                    if not self._plans[planner]:
                        del self._plans[planner], self._planned[planner]
            return fault


@attrs.frozen(repr=False)
class RecordedRequest:
    """A request as the server received it; header names are lowercase.

    `owner` is the fingerprint of its valid token (None without one): whose log it is in.
    """

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    owner: str | None = None

    def __repr__(self) -> str:
        # The token must not end up in a test report.
        headers = redact(self.headers)
        return f"RecordedRequest(method={self.method!r}, path={self.path!r}, headers={headers!r}, body={self.body!r})"


def redact(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: (REDACTED if name == "authorization" else value) for name, value in headers.items()}


class _OwnLog:
    __slots__ = ("body_bytes", "requests")

    def __init__(self) -> None:
        self.requests: deque[tuple[int, RecordedRequest]] = deque()  # (arrival order, request)
        self.body_bytes = 0


class RequestLog:
    """The last requests received, oldest first, kept per owner (each token, and the requests with no
    valid token): at most `max_requests` each, with bodies of at most `max_body_bytes` in all each
    (bodies go up to the server's size limit; 10,000 of 1 MiB would not fit)."""

    def __init__(
        self, max_requests: int = MAX_RECORDED_REQUESTS, max_body_bytes: int = MAX_RECORDED_BODY_BYTES
    ) -> None:
        self._lock = threading.Lock()
        self._logs: dict[str | None, _OwnLog] = {}
        self._arrivals = itertools.count()
        self.max_requests = max_requests
        self.max_body_bytes = max_body_bytes

    def append(self, request: RecordedRequest) -> None:
        with self._lock:
            log = self._logs.get(request.owner) or self._logs.setdefault(request.owner, _OwnLog())
            log.requests.append((next(self._arrivals), request))
            log.body_bytes += len(request.body)
            while len(log.requests) > self.max_requests or (
                log.body_bytes > self.max_body_bytes and len(log.requests) > 1
            ):
                log.body_bytes -= len(log.requests.popleft()[1].body)

    def snapshot(self, owner: str | None = None) -> list[RecordedRequest]:
        """The requests recorded: all of them (in the order they arrived), or only `owner`'s."""
        with self._lock:
            if owner is not None:
                log = self._logs.get(owner)
                return [request for _, request in log.requests] if log is not None else []
            every = [list(log.requests) for log in self._logs.values()]
        return [request for _, request in heapq.merge(*every, key=lambda arrival: arrival[0])]

    def clear(self, owner: str | None = None) -> None:
        """Forget every request recorded, or only `owner`'s."""
        with self._lock:
            if owner is None:
                self._logs.clear()
            else:
                self._logs.pop(owner, None)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class _StopResponse(Exception):
    """Raised from `send` to stop the app once a fault has ended its answer."""


def _is_event_chunk(chunk: bytes) -> bool:
    # The server writes one event or one comment per chunk; comments start with ":".
    return bool(chunk) and not chunk.startswith(b":")


def _contains_stop(error: BaseException) -> bool:
    if isinstance(error, _StopResponse):
        return True
    if isinstance(error, BaseExceptionGroup):
        return all(_contains_stop(inner) for inner in error.exceptions)
    return False


Owner = Callable[[str | None], str | None]


class ControlMiddleware:
    """Records requests and applies planned faults; `/_mock/*` admin routes pass untouched.

    `owner` maps an `Authorization` header to its token's fingerprint (None when not valid).
    """

    def __init__(
        self, app: ASGIApp, *, faults: FaultBook | None, log: RequestLog | None, max_body_bytes: int, owner: Owner
    ) -> None:
        self.app = app
        self.faults = faults
        self.log = log
        self.max_body_bytes = max_body_bytes
        self.owner = owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_mock/"):
            await self.app(scope, receive, send)
            return
        owner = self.owner(_header(scope, b"authorization"))
        if self.log is not None:
            receive = await self._record(scope, receive, owner)
        fault = self.faults.take(scope["method"], scope["path"], owner) if self.faults is not None else None
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.answers_at_once:
            status, headers, body = fault.response()
            await send({"type": "http.response.start", "status": status, "headers": headers})
            if fault.close_mid_body:
                await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
                return  # the server drops a connection whose answer is incomplete
            await send({"type": "http.response.body", "body": body})
            return
        if fault.cut_after_events is None and not fault.close_mid_body:
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, self._cutting_send(send, fault))
        except BaseException as error:
            if not _contains_stop(error):
                raise

    def _cutting_send(self, send: Send, fault: Fault) -> Send:
        limit = fault.cut_after_events or 0
        events_sent = 0

        async def cutting_send(message: Message) -> None:
            nonlocal events_sent
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunk: bytes = message.get("body", b"")
            if fault.close_mid_body and events_sent >= limit and chunk:
                await send({"type": "http.response.body", "body": chunk[: max(1, len(chunk) // 2)], "more_body": True})
                raise _StopResponse
            await send(message)
            if _is_event_chunk(chunk):
                events_sent += 1
            if not fault.close_mid_body and events_sent >= limit and message.get("more_body", False):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                raise _StopResponse

        return cutting_send

    async def _record(self, scope: Scope, receive: Receive, owner: str | None) -> Receive:
        """Read the body (up to the size limit and one byte), log the request, replay the body."""
        assert self.log is not None
        messages: list[Message] = []
        size = 0
        more = True
        while more and size <= self.max_body_bytes:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        body = b"".join(message.get("body", b"") for message in messages if message["type"] == "http.request")
        self.log.append(RecordedRequest(scope["method"], scope["path"], headers, body, owner))
        replay = deque(messages)

        async def replaying_receive() -> Message:
            return replay.popleft() if replay else await receive()

        return replaying_receive
