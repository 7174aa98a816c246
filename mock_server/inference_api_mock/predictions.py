"""Predictions: their state, the task that plays a model's script, and the store that owns them.

    starting ──boot──▶ processing ──▶ succeeded | failed
        └───────────────┴──cancel──▶ canceled

A prediction keeps every event it produced (`logs`, `output`, `error`, `done`, ids counting from 1),
so that a stream can start, or resume after `Last-Event-ID`, at any time. All of this runs on the
server's event loop; nothing here is thread-safe, nor needs to be.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any

from inference_api_mock import sse
from inference_api_mock.models import FakeModel, Step, script
from inference_api_mock.spec import Spec, load_spec
from inference_api_mock.webhooks import WebhookQueue, WebhookSender, describe_origin, is_loopback_url

FINAL_STATUSES = frozenset({"succeeded", "failed", "canceled"})
# Below this, sleeping costs more than it buys: due steps are applied in one go.
MIN_SLEEP_SECONDS = 0.001


def new_prediction_id() -> str:
    """26 lowercase base32 characters, like the guide's ids (ujebapbbulzpx25442efjv4qba)."""
    return base64.b32encode(secrets.token_bytes(16)).decode().rstrip("=").lower()


def timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class Prediction:
    """One run of one fake model, as its owner sees it through the API."""

    def __init__(
        self,
        *,
        owner: str,
        model: FakeModel,
        values: dict[str, Any],
        stream: bool,
        base_url: str,
        usage: Usage | None = None,
        size: int = 0,
        spec: Spec | None = None,
    ) -> None:
        self.id = new_prediction_id()
        # What its answers and events look like: the spec's schemas, not a shape of our own.
        self.spec = spec if spec is not None else load_spec()
        # What this prediction holds, in bytes (its request body, then its events' data), counted
        # in `usage` too: the store's total, which its limit bounds.
        self.usage = usage if usage is not None else Usage()
        self.size = size
        self.usage.bytes += size
        self.usage.unfinished += 1
        self.owner = owner
        self.model = model
        self.input = values
        self.stream = stream
        self.base_url = base_url  # of the creating request: for webhooks and the video URL
        self.file_url = f"{base_url}/files/{self.id}.mp4"
        self.status = "starting"
        self.output: Any = None
        self.error: str | None = None
        self.logs = ""
        self.created_at = timestamp()
        self.started_at: str | None = None
        self.completed_at: str | None = None
        self.predict_time: float | None = None
        self.events: list[sse.Event] = []
        # Set once the prediction is final, or the server stops: what /v1/run waits for.
        self.settled = asyncio.Event()
        self.released = False
        self.webhook: WebhookQueue | None = None
        self._started_clock: float | None = None
        self._changed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    def to_json(self, base_url: str) -> dict[str, Any]:
        """The spec's `Prediction` object, its URLs built from `base_url`.

        Every property the schema defines, and only those: what the server knows (below), null or
        a schema-valid default for any other (`Spec.shape`). A field the spec gains is sent, one it
        drops is not, with no edit here.
        """
        urls = {
            "get": f"{base_url}/v1/predictions/{self.id}",
            "cancel": f"{base_url}/v1/predictions/{self.id}/cancel",
        }
        if self.stream:
            urls["stream"] = f"{base_url}/v1/predictions/{self.id}/stream"
        known = {
            "id": self.id,
            "model": self.model.name,
            "version": self.model.version,
            "status": self.status,
            "input": self.input,
            "output": list(self.output) if isinstance(self.output, list) else self.output,
            "error": self.error,
            "logs": self.logs,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "completed_at": self.completed_at,
            "urls": urls,
            "metrics": None if self.predict_time is None else {"predict_time": self.predict_time},
        }
        return self.spec.shape("Prediction", known, every_property=True)

    async def events_after(self, last_id: int, keepalive_seconds: float) -> AsyncIterator[sse.Event | None]:
        """Events with an id above `last_id`, up to `done`; None whenever `keepalive_seconds` pass idle."""
        while True:
            changed = self._changed
            while last_id < len(self.events):
                event = self.events[last_id]
                last_id += 1
                yield event
                if event.event == "done":
                    return
            if self.is_final or self.released:
                return  # resumed after `done`, or the server is stopping: nothing more to send
            try:
                await asyncio.wait_for(changed.wait(), keepalive_seconds)
            except TimeoutError:
                yield None

    def release(self) -> None:
        """The server is stopping: end open streams and waits now rather than hold the shutdown."""
        self.released = True
        self._changed.set()
        self.settled.set()

    # What the script's steps (and a cancel) do.

    def add_event(self, event: str, data: str) -> None:
        known = self.spec.stream_event_types
        if known and event not in known:
            return  # a kind of event the spec no longer defines
        self.events.append(sse.Event(len(self.events) + 1, event, data))
        self.size += len(data)
        self.usage.bytes += len(data)
        self._changed.set()
        self._changed = asyncio.Event()

    def add_log(self, line: str) -> None:
        self.logs += line + "\n"
        self.add_event("logs", line)
        self.notify("logs")

    def start(self) -> None:
        self.status = "processing"
        self.started_at = timestamp()
        self._started_clock = time.monotonic()

    def add_output(self, piece: str) -> None:
        self.output = [*(self.output or []), piece]
        self.add_event("output", piece)
        self.notify("output")

    def set_output(self, value: Any) -> None:
        self.output = value
        self.add_event("output", value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        self.notify("output")

    def finish(self, status: str, error: str | None = None) -> None:
        if not self.is_final:
            self.usage.unfinished -= 1
        self.status = status
        self.error = error
        self.completed_at = timestamp()
        if self._started_clock is not None:
            self.predict_time = round(time.monotonic() - self._started_clock, 6)
        if error is not None:
            self.add_event(
                "error", json.dumps(self.spec.shape("StreamErrorData", {"detail": error}), ensure_ascii=False)
            )
        done = self.spec.shape("StreamDoneData", {} if status == "succeeded" else {"reason": status})
        self.add_event("done", json.dumps(done))
        self.settled.set()
        self.notify("completed")

    def notify(self, event: str) -> None:
        if self.webhook is not None:
            self.webhook.notify(event, lambda: self.to_json(self.base_url))


# Per token, a long-running server keeps at most this many predictions, holding at most this many
# bytes of inputs and event data (measured: 1,000 inputs of 0.9 MB to the echo model held 1.8 GB
# before the byte limit, about twice their size: the input and its output event), of which at most
# this many unfinished. Beyond the first two, the token's own oldest finished predictions are
# forgotten; running ones are always kept, and when they alone fill a limit, or the unfinished
# limit is reached, the token's new predictions are refused (StoreFull, answered 429) until some
# finish. One token's predictions never make room for another's, nor count against its limits.
MAX_PREDICTIONS = 10_000
MAX_STORED_BYTES = 256 * 1024 * 1024
MAX_UNFINISHED = 1_000


class Usage:
    """What the predictions of one token hold: bytes, and how many are unfinished."""

    __slots__ = ("bytes", "unfinished")

    def __init__(self) -> None:
        self.bytes = 0
        self.unfinished = 0


class StoreFull(Exception):
    """The token's unfinished predictions fill its limits: no room for another one now."""


class _Account:
    """One token's predictions, oldest first (dicts keep insertion order), and what they hold."""

    __slots__ = ("predictions", "usage")

    def __init__(self) -> None:
        self.predictions: dict[str, Prediction] = {}
        self.usage = Usage()


class Store:
    """Every prediction of this server, each visible to the token that created it only.

    The limits (`max_predictions`, `max_stored_bytes`, `max_unfinished`) apply to each token apart.
    """

    def __init__(
        self,
        speed: float,
        max_predictions: int = MAX_PREDICTIONS,
        max_stored_bytes: int = MAX_STORED_BYTES,
        max_unfinished: int = MAX_UNFINISHED,
        spec: Spec | None = None,
    ) -> None:
        if not speed > 0:
            raise ValueError("speed must be a positive number")
        self.speed = speed
        self.spec = spec if spec is not None else load_spec()
        self.max_predictions = max_predictions
        self.max_stored_bytes = max_stored_bytes
        self.max_unfinished = max_unfinished
        self._predictions: dict[str, Prediction] = {}  # every token's, by id
        self._accounts: dict[str, _Account] = {}
        self._webhooks = WebhookSender()

    @property
    def bytes_held(self) -> int:
        """Bytes of inputs and event data held by every token's predictions."""
        return sum(account.usage.bytes for account in self._accounts.values())

    def usage_of(self, owner: str) -> Usage:
        account = self._accounts.get(owner)
        return account.usage if account is not None else Usage()

    def create(
        self,
        *,
        owner: str,
        model: FakeModel,
        values: dict[str, Any],
        base_url: str,
        stream: bool,
        webhook: str | None = None,
        webhook_events: Iterable[str] | None = None,
        size: int = 0,
    ) -> Prediction:
        """A new prediction, started; `size` is its request body's length. StoreFull when there is no room."""
        account = self._accounts.get(owner) or self._accounts.setdefault(owner, _Account())
        self._make_room(account, size)
        prediction = Prediction(
            owner=owner,
            model=model,
            values=values,
            stream=stream,
            base_url=base_url,
            usage=account.usage,
            size=size,
            spec=self.spec,
        )
        self._predictions[prediction.id] = account.predictions[prediction.id] = prediction
        if webhook is not None:
            if is_loopback_url(webhook):
                prediction.webhook = WebhookQueue(webhook, webhook_events)
                self._webhooks.start(prediction.webhook)
                prediction.notify("start")  # as the hosted platform does: once created, before any log
            else:
                prediction.add_log(
                    f"Webhook on {describe_origin(webhook)} not contacted: "
                    "the mock server delivers webhooks to loopback addresses only."
                )
        steps = script(model, values, prediction.file_url)
        prediction.task = asyncio.get_running_loop().create_task(self._play(prediction, steps))
        return prediction

    def _make_room(self, account: _Account, incoming: int) -> None:
        """Forget the token's oldest finished predictions until one more of `incoming` bytes fits; else StoreFull."""
        if account.usage.unfinished >= self.max_unfinished:
            raise StoreFull(
                f"The mock server runs at most {self.max_unfinished} unfinished predictions per token, "
                "and this token's unfinished ones fill them: try again when some have finished."
            )
        excess_count = len(account.predictions) + 1 - self.max_predictions
        excess_bytes = account.usage.bytes + incoming - self.max_stored_bytes
        if excess_count <= 0 and excess_bytes <= 0:
            return
        forget = []
        for key, prediction in account.predictions.items():
            if excess_count <= 0 and excess_bytes <= 0:
                break
            if prediction.is_final:
                forget.append(key)
                excess_count -= 1
                excess_bytes -= prediction.size
        for key in forget:
            del self._predictions[key]
            account.usage.bytes -= account.predictions.pop(key).size
        if excess_count > 0 or excess_bytes > 0:
            raise StoreFull(
                f"The mock server keeps at most {self.max_predictions} predictions and "
                f"{self.max_stored_bytes} bytes of their inputs and events per token, and this token's "
                "unfinished ones fill them: try again when some have finished."
            )

    def forget_owner(self, owner: str) -> None:
        """Drop every prediction of `owner`'s, stopping the unfinished ones (and ending their streams)."""
        account = self._accounts.pop(owner, None)
        if account is None:
            return
        for key, prediction in account.predictions.items():
            del self._predictions[key]
            if prediction.task is not None:
                prediction.task.cancel()
            prediction.release()

    def __len__(self) -> int:
        return len(self._predictions)

    def get(self, owner: str, prediction_id: str) -> Prediction | None:
        prediction = self._predictions.get(prediction_id)
        return prediction if prediction is not None and prediction.owner == owner else None

    def video_file_exists(self, prediction_id: str) -> bool:
        prediction = self._predictions.get(prediction_id)
        return prediction is not None and prediction.status == "succeeded" and prediction.output == prediction.file_url

    def cancel(self, prediction: Prediction) -> None:
        if prediction.is_final:
            return
        if prediction.task is not None:
            prediction.task.cancel()
        prediction.add_log("Canceled")
        prediction.finish("canceled")

    async def _play(self, prediction: Prediction, steps: list[Step]) -> None:
        loop = asyncio.get_running_loop()
        origin = loop.time()
        for step in steps:
            delay = origin + step.at / self.speed - loop.time()
            if delay > MIN_SLEEP_SECONDS:
                await asyncio.sleep(delay)
            if prediction.is_final:
                return
            if step.kind == "start":
                prediction.start()
            elif step.kind == "logs":
                prediction.add_log(step.value)
            elif step.kind == "piece":
                prediction.add_output(step.value)
            elif step.kind == "output":
                prediction.set_output(step.value)
            elif step.kind == "succeed":
                prediction.finish("succeeded")
            else:
                prediction.finish("failed", error=step.value)

    def release_waiters(self) -> None:
        """End every open stream and /v1/run wait (called from the server's loop when stopping)."""
        for prediction in self._predictions.values():
            prediction.release()

    async def aclose(self) -> None:
        tasks = [p.task for p in self._predictions.values() if p.task is not None and not p.task.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._webhooks.aclose()
