"""Webhook delivery, to this machine only.

A prediction created with a `webhook` gets a `POST` of its JSON (the bare prediction object, as
the spec says "receives the prediction") on each event its `webhook_events_filter` names:
`start`, `output`, `logs`, `completed` (all four when the filter is omitted). Deliveries of one
prediction go out one at a time, in order; consecutive `output` (or `logs`) deliveries still waiting
are merged into the newest one, so a fast model does not flood the receiver. `start` goes out as
soon as the prediction is created, `completed` once it is final.

Only loopback addresses are ever contacted (`localhost`, 127.0.0.0/8, ::1): any other webhook URL
is accepted, as the spec allows, and ignored; the prediction's logs say so. The server never
resolves a host name, so even a DNS query does not leave the machine. No credential is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpx

ALL_EVENTS = frozenset({"start", "output", "logs", "completed"})
MERGEABLE = frozenset({"output", "logs"})
DELIVERY_TIMEOUT_SECONDS = 5.0


def is_loopback_url(url: str) -> bool:
    """True for http(s) URLs whose host is literally this machine; no name is ever resolved."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on an invalid port
    except ValueError:
        return False
    if parts.scheme not in {"http", "https"} or not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def describe_origin(url: str) -> str:
    """Scheme and host only: a webhook URL may carry a secret in its path or query."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname}" if parts.hostname else "(no host)"
    except ValueError:
        return "(not a URL)"


class WebhookQueue:
    """The deliveries still due to one prediction's webhook, sent in order by one task."""

    def __init__(self, url: str, events: Iterable[str] | None) -> None:
        self.url = url
        self.events = frozenset(events) if events is not None else ALL_EVENTS
        self._pending: deque[tuple[str, dict[str, Any]]] = deque()
        self._wakeup = asyncio.Event()
        self._closed = False

    def notify(self, event: str, snapshot: Callable[[], dict[str, Any]]) -> None:
        if event not in self.events or self._closed:
            return
        if event in MERGEABLE and self._pending and self._pending[-1][0] == event:
            self._pending.pop()
        self._pending.append((event, snapshot()))
        if event == "completed":
            self._closed = True
        self._wakeup.set()

    async def deliver(self, client: httpx.AsyncClient) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                event, body = self._pending.popleft()
                # A receiver that is down or slow must not disturb the prediction.
                with contextlib.suppress(httpx.HTTPError):
                    await client.post(self.url, json=body, headers={"Webhook-Event": event})
                if event == "completed":
                    return


class WebhookSender:
    """Runs the delivery tasks; closing it cancels whatever is still due."""

    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, queue: WebhookQueue) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=DELIVERY_TIMEOUT_SECONDS,
                trust_env=False,  # never through a proxy: the request must stay on this machine
                follow_redirects=False,  # a redirect could point off the machine
                headers={"User-Agent": "inference-api-mock-server"},
            )
        task = asyncio.get_running_loop().create_task(queue.deliver(self._client))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.aclose()
            self._client = None
