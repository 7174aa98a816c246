"""wait / async_wait against the real mock server over loopback.

Two servers: a fast one (speed 200: predictions finish in milliseconds) and a slow one (speed 10:
a chat prediction runs for seconds), for what must happen while a prediction is still running.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import anyio
import pytest

from inference_api import errors
from inference_api.calls import async_cancel, cancel, create, get
from inference_api.connection import InferenceClient, connect
from inference_api.waiting import async_wait, wait
from inference_api_client.models.prediction import Prediction
from inference_api_client.models.prediction_status import PredictionStatus
from inference_api_mock.models import ECHO, FAIL, FAIL_MESSAGE, LLAMA
from inference_api_mock.testing import MockServer

T = TypeVar("T")
MODES = ("sync", "async")
SHORT = {"prompt": "Plan a day in San Francisco", "max_new_tokens": 40}
LONG = {"prompt": "Tell me everything", "max_new_tokens": 2000, "min_new_tokens": 2000}  # minutes at speed 10


@pytest.fixture(scope="module")
def slow_session() -> Iterator[MockServer]:
    with MockServer(tokens=("test-token",), speed=10.0, faults=True) as server:
        yield server


@pytest.fixture
def fast(mock_server: MockServer) -> MockServer:
    """The session's mock server (speed 200, faults on), with no faults or requests left over."""
    return mock_server


@pytest.fixture
def slow(slow_session: MockServer) -> Iterator[MockServer]:
    slow_session.clear_requests()
    yield slow_session


def client_for(server: MockServer) -> InferenceClient:
    return connect(server.token, server.base_url)


def waiting(mode: str, server: MockServer, target: Prediction | str, **kwargs: Any) -> Prediction:
    """wait() (sync) or async_wait() in a fresh event loop with its own client."""
    client = client_for(server)
    if mode == "sync":
        return wait(client, target, **kwargs)

    async def run() -> Prediction:
        try:
            return await async_wait(client, target, **kwargs)
        finally:
            await client.get_async_httpx_client().aclose()

    return anyio.run(run)


def in_loop(server: MockServer, body: Callable[[InferenceClient], Awaitable[T]]) -> T:
    async def run() -> T:
        client = client_for(server)
        try:
            return await body(client)
        finally:
            await client.get_async_httpx_client().aclose()

    return anyio.run(run)


def gets_of(server: MockServer, prediction: Prediction) -> int:
    return sum(1 for r in server.requests if r.method == "GET" and r.path == f"/v1/predictions/{prediction.id}")


def streams_of(server: MockServer, prediction: Prediction) -> int:
    return sum(1 for r in server.requests if r.path == f"/v1/predictions/{prediction.id}/stream")


# --- outcomes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_wait_returns_the_succeeded_prediction_and_reports_each_change(fast: MockServer, mode: str) -> None:
    prediction = create(client_for(fast), LLAMA, SHORT)
    updates: list[Prediction] = []
    final = waiting(mode, fast, prediction, on_update=updates.append)
    assert final.status == PredictionStatus.SUCCEEDED
    assert final.output == get(client_for(fast), prediction).output
    assert updates[0] is prediction
    assert updates[-1].status == PredictionStatus.SUCCEEDED
    assert all((a.status, a.logs, a.output) != (b.status, b.logs, b.output) for a, b in itertools.pairwise(updates))


@pytest.mark.parametrize("mode", MODES)
def test_wait_takes_an_id(fast: MockServer, mode: str) -> None:
    prediction = create(client_for(fast), ECHO, {"text": "ça va"})
    final = waiting(mode, fast, prediction.id)
    assert final.output == {"text": "ça va"}


@pytest.mark.parametrize("mode", MODES)
def test_a_failed_prediction_raises_prediction_error_carrying_it(fast: MockServer, mode: str) -> None:
    prediction = create(client_for(fast), FAIL, {"prompt": "x"})
    with pytest.raises(errors.PredictionError) as caught:
        waiting(mode, fast, prediction)
    assert type(caught.value) is errors.PredictionError
    assert caught.value.prediction is not None
    assert caught.value.prediction.status == PredictionStatus.FAILED
    assert caught.value.prediction.error == FAIL_MESSAGE


@pytest.mark.parametrize("mode", MODES)
def test_a_finished_prediction_is_returned_without_a_request(fast: MockServer, mode: str) -> None:
    client = client_for(fast)
    finished = wait(client, create(client, ECHO, {"a": 1}))
    fast.clear_requests()
    assert waiting(mode, fast, finished) is finished
    assert fast.requests == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bad_id", ["", ".", "..", "a/b"])
def test_an_id_that_would_leave_its_path_is_refused_before_any_request(
    fast: MockServer, mode: str, bad_id: str
) -> None:
    with pytest.raises(ValueError, match="prediction id"):
        waiting(mode, fast, bad_id)
    assert fast.requests == []


# --- the stream path ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_streaming_prediction_is_followed_instead_of_polled(fast: MockServer, mode: str) -> None:
    prediction = create(client_for(fast), LLAMA, {**SHORT, "max_new_tokens": 300}, stream=True)
    updates: list[Prediction] = []
    seen: list[list[str]] = []  # the output as each update showed it (the stream's updates share one list)

    def note(update: Prediction) -> None:
        updates.append(update)
        seen.append(list(update.output) if isinstance(update.output, list) else [])

    final = waiting(mode, fast, prediction, on_update=note)
    assert final.status == PredictionStatus.SUCCEEDED
    assert streams_of(fast, prediction) == 1
    assert gets_of(fast, prediction) <= 2  # the final state, and at most one more
    assert len({len(output) for output in seen}) > 10  # on_update heard of the output as it grew
    assert all(len(earlier) <= len(later) for earlier, later in itertools.pairwise(seen))
    assert seen[-1] == final.output
    assert updates[-1] is not updates[-2] and updates[-1].output is not updates[-2].output  # the get's own


@pytest.mark.parametrize("mode", MODES)
def test_when_the_stream_fails_polling_takes_over(fast: MockServer, mode: str) -> None:
    fast.fault("GET /v1/predictions/{prediction_id}/stream", status=500, times=20)
    prediction = create(client_for(fast), LLAMA, SHORT, stream=True)
    final = waiting(mode, fast, prediction)
    assert final.status == PredictionStatus.SUCCEEDED
    assert streams_of(fast, prediction) >= 1
    assert gets_of(fast, prediction) >= 1


@pytest.mark.parametrize("mode", MODES)
def test_a_failed_streaming_prediction_raises_prediction_error(fast: MockServer, mode: str) -> None:
    prediction = create(client_for(fast), FAIL, {"prompt": "x"}, stream=True)
    with pytest.raises(errors.PredictionError) as caught:
        waiting(mode, fast, prediction)
    assert caught.value.prediction is not None
    assert caught.value.prediction.error == FAIL_MESSAGE


@pytest.mark.parametrize("mode", MODES)
def test_the_deadline_holds_while_following_a_stream(slow: MockServer, mode: str) -> None:
    prediction = create(client_for(slow), LLAMA, LONG, stream=True)
    try:
        with pytest.raises(errors.WaitTimeoutError) as caught:
            waiting(mode, slow, prediction, timeout=0.5)
        assert caught.value.prediction is not None
        assert caught.value.prediction.status == PredictionStatus.PROCESSING
    finally:
        cancel(client_for(slow), prediction)


# --- deadlines and cancellation -----------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_timeout_raises_with_the_last_prediction_and_leaves_it_running(slow: MockServer, mode: str) -> None:
    prediction = create(client_for(slow), LLAMA, LONG)
    try:
        with pytest.raises(errors.WaitTimeoutError) as caught:
            waiting(mode, slow, prediction, timeout=0.4)
        last = caught.value.prediction
        assert last is not None
        assert last.id == prediction.id
        assert last.status in (PredictionStatus.STARTING, PredictionStatus.PROCESSING)
        assert get(client_for(slow), prediction).status == PredictionStatus.PROCESSING
    finally:
        cancel(client_for(slow), prediction)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("streaming", [False, True], ids=["polling", "streaming"])
def test_cancel_on_timeout_cancels_the_remote_prediction(slow: MockServer, mode: str, streaming: bool) -> None:
    prediction = create(client_for(slow), LLAMA, LONG, stream=streaming)
    with pytest.raises(errors.WaitTimeoutError) as caught:
        waiting(mode, slow, prediction, timeout=0.4, cancel_on_timeout=True)
    assert caught.value.prediction is not None
    assert caught.value.prediction.status == PredictionStatus.CANCELED
    assert "canceled" in str(caught.value)
    assert get(client_for(slow), prediction).status == PredictionStatus.CANCELED


@pytest.mark.parametrize("streaming", [False, True], ids=["polling", "streaming"])
def test_a_cancel_from_another_thread_ends_the_wait(slow: MockServer, streaming: bool) -> None:
    prediction = create(client_for(slow), LLAMA, LONG, stream=streaming)
    started = threading.Event()

    def cancel_once_running(update: Prediction) -> None:
        if update.status == PredictionStatus.PROCESSING and not started.is_set():
            started.set()
            threading.Thread(target=cancel, args=(client_for(slow), prediction.id), daemon=True).start()

    with pytest.raises(errors.PredictionCanceledError) as caught:
        wait(client_for(slow), prediction, on_update=cancel_once_running, timeout=30)
    assert caught.value.prediction is not None
    assert caught.value.prediction.status == PredictionStatus.CANCELED


@pytest.mark.parametrize("streaming", [False, True], ids=["polling", "streaming"])
def test_a_cancel_from_another_task_ends_the_async_wait(slow: MockServer, streaming: bool) -> None:
    prediction = create(client_for(slow), LLAMA, LONG, stream=streaming)

    async def scenario(client: InferenceClient) -> BaseException | None:
        running = anyio.Event()

        def note(update: Prediction) -> None:
            if update.status == PredictionStatus.PROCESSING:
                running.set()

        async def canceller() -> None:
            with anyio.fail_after(10):
                await running.wait()
            await async_cancel(client, prediction)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(canceller)
            try:
                await async_wait(client, prediction, on_update=note, timeout=30)
            except errors.PredictionCanceledError as error:
                return error
        return None

    error = in_loop(slow, scenario)
    assert isinstance(error, errors.PredictionCanceledError)
    assert error.prediction is not None
    assert error.prediction.status == PredictionStatus.CANCELED


def interrupt_once_running(update: Prediction) -> None:
    # What Ctrl-C does, at a known point: while the prediction runs.
    if update.status == PredictionStatus.PROCESSING:
        raise KeyboardInterrupt


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("streaming", [False, True], ids=["polling", "streaming"])
def test_ctrl_c_cancels_the_remote_prediction_when_asked(slow: MockServer, mode: str, streaming: bool) -> None:
    prediction = create(client_for(slow), LLAMA, LONG, stream=streaming)
    with pytest.raises(KeyboardInterrupt):
        waiting(mode, slow, prediction, on_update=interrupt_once_running, cancel_on_interrupt=True)
    assert get(client_for(slow), prediction).status == PredictionStatus.CANCELED


@pytest.mark.parametrize("mode", MODES)
def test_ctrl_c_leaves_the_remote_prediction_alone_by_default(slow: MockServer, mode: str) -> None:
    prediction = create(client_for(slow), LLAMA, LONG)
    try:
        with pytest.raises(KeyboardInterrupt):
            waiting(mode, slow, prediction, on_update=interrupt_once_running)
        assert get(client_for(slow), prediction).status == PredictionStatus.PROCESSING
    finally:
        cancel(client_for(slow), prediction)


@pytest.mark.parametrize("streaming", [False, True], ids=["polling", "streaming"])
def test_cancelling_the_waiting_asyncio_task_cancels_the_remote_prediction(slow: MockServer, streaming: bool) -> None:
    prediction = create(client_for(slow), LLAMA, LONG, stream=streaming)

    async def scenario(client: InferenceClient) -> bool:
        running = asyncio.Event()

        def note(update: Prediction) -> None:
            if update.status == PredictionStatus.PROCESSING:
                running.set()

        task = asyncio.create_task(async_wait(client, prediction, on_update=note, cancel_on_interrupt=True))
        await asyncio.wait_for(running.wait(), 10)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return True
        return False

    assert in_loop(slow, scenario)
    assert get(client_for(slow), prediction).status == PredictionStatus.CANCELED


def test_cancelling_an_anyio_scope_cancels_the_remote_prediction(slow: MockServer) -> None:
    prediction = create(client_for(slow), LLAMA, LONG, stream=True)

    async def scenario(client: InferenceClient) -> None:
        async with anyio.create_task_group() as tasks:

            def note(update: Prediction) -> None:
                if update.status == PredictionStatus.PROCESSING:
                    tasks.cancel_scope.cancel()

            tasks.start_soon(lambda: async_wait(client, prediction, on_update=note, cancel_on_interrupt=True))

    in_loop(slow, scenario)
    assert get(client_for(slow), prediction).status == PredictionStatus.CANCELED


def test_a_task_cancelled_without_cancel_on_interrupt_leaves_the_prediction(slow: MockServer) -> None:
    prediction = create(client_for(slow), LLAMA, LONG)

    async def scenario(client: InferenceClient) -> None:
        with anyio.move_on_after(0.3):
            await async_wait(client, prediction)

    try:
        in_loop(slow, scenario)
        assert get(client_for(slow), prediction).status == PredictionStatus.PROCESSING
    finally:
        cancel(client_for(slow), prediction)


# --- the deadline bounds the requests a wait makes ----------------------------------------------------


class Recorder:
    """The delays a client asked to sleep between retries, and the read timeout of each request."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.read_timeouts: list[float | None] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def client(self, server: MockServer, mode: str) -> InferenceClient:
        def on_request(request: Any) -> None:
            self.read_timeouts.append(request.extensions["timeout"]["read"])

        async def on_async_request(request: Any) -> None:
            on_request(request)

        hook = on_request if mode == "sync" else on_async_request
        return connect(
            server.token,
            server.base_url,
            sleep=self.sleep,
            async_sleep=self.async_sleep,
            httpx_args={"event_hooks": {"request": [hook]}},
        )


def waiting_with(mode: str, client: InferenceClient, target: Prediction | str, **kwargs: Any) -> Prediction:
    if mode == "sync":
        return wait(client, target, **kwargs)

    async def run() -> Prediction:
        try:
            return await async_wait(client, target, **kwargs)
        finally:
            await client.get_async_httpx_client().aclose()

    return anyio.run(run)


@pytest.mark.parametrize("mode", MODES)
def test_a_retry_after_longer_than_the_time_left_is_not_slept(slow: MockServer, mode: str) -> None:
    prediction = create(client_for(slow), LLAMA, LONG)
    recorder = Recorder()
    slow.fault("GET /v1/predictions/{prediction_id}", status=503, retry_after="30", times=10)
    try:
        with pytest.raises(errors.ServerError, match="would pass the deadline") as caught:
            waiting_with(mode, recorder.client(slow, mode), prediction.id, timeout=5)
    finally:
        slow.clear_faults()
        cancel(client_for(slow), prediction)
    assert caught.value.retry_after == 30
    assert recorder.sleeps == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("streaming", [False, True], ids=["polling", "streaming"])
def test_no_request_of_a_wait_may_outlast_its_deadline(slow: MockServer, mode: str, streaming: bool) -> None:
    prediction = create(client_for(slow), LLAMA, LONG, stream=streaming)
    recorder = Recorder()
    try:
        with pytest.raises(errors.WaitTimeoutError):
            waiting_with(mode, recorder.client(slow, mode), prediction, timeout=0.3)
    finally:
        cancel(client_for(slow), prediction)
    assert recorder.read_timeouts
    assert all(timeout is not None and timeout <= 0.3 for timeout in recorder.read_timeouts)


@pytest.mark.parametrize("mode", MODES)
def test_a_poll_cut_short_by_the_deadline_raises_wait_timeout_error(slow: MockServer, mode: str) -> None:
    prediction = create(client_for(slow), LLAMA, LONG)
    slow.fault("GET /v1/predictions/{prediction_id}", delay=2.0, times=1)
    try:
        with pytest.raises(errors.WaitTimeoutError) as caught:
            waiting(mode, slow, prediction.id, timeout=0.3)
    finally:
        slow.clear_faults()
        cancel(client_for(slow), prediction)
    assert caught.value.prediction is None
    assert isinstance(caught.value.__cause__, errors.APITimeoutError)


@pytest.mark.parametrize("mode", MODES)
def test_the_cancel_on_timeout_is_bounded_too(slow: MockServer, mode: str) -> None:
    prediction = create(client_for(slow), LLAMA, LONG)
    recorder = Recorder()
    slow.fault("POST /v1/predictions/{prediction_id}/cancel", status=503, retry_after="30", times=10)
    try:
        with pytest.raises(errors.WaitTimeoutError) as caught:
            waiting_with(mode, recorder.client(slow, mode), prediction, timeout=0.2, cancel_on_timeout=True)
    finally:
        slow.clear_faults()
        cancel(client_for(slow), prediction)
    assert "canceled" not in str(caught.value)
    assert recorder.sleeps == []
