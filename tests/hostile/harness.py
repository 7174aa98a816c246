"""Every SDK call, run against one hostile server in every mode at once (not a test module).

Modes: "sync" (httpx over its own sockets), "async-aiohttp" (the default async transport) and
"async-httpx" (httpx's own async transport). `run_calls` starts the chosen calls concurrently
(threads for sync, tasks for async), each bounded from inside as well (a regression then fails
with the names of the calls that hung rather than hanging the run), and returns what each did.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
import attrs

from inference_api import calls, files, streaming, waiting
from inference_api.connection import InferenceClient, connect
from inference_api_client.models.prediction import Prediction
from tests.extensions import calls_support
from tests.hostile.rawserver import Handler, RawServer

# Distinctive, so that a leak shows up in any text it reaches.
TOKEN = "tok-HOSTILE-5d1e9b2a7c"
PREDICTION_ID = "ujebapbbulzpx25442efjv4qba"
VERSION = "f1d50bb24186c52daae319ca8366e53debdaa9e0ae7ff976e918df752732ccc4"
MODEL = f"meta/llama-2-7b-chat:{VERSION}"
MODES = ("sync", "async-aiohttp", "async-httpx")
ALL_CALLS = ("get", "create", "cancel", "run", "stream", "stream_prediction", "wait", "wait_stream", "download")

# Extra time a call may take past its deadline before the test calls it a hang. Generous: the
# machine is shared and noisy; what matters is the difference from a call with no total bound,
# which the hostile servers keep busy for far longer (a drip of 30 s and more, or forever).
HANG_MARGIN = 8.0

# (case, call, mode, seconds past the deadline): printed at the end of the session (conftest).
overshoots: list[tuple[str, str, str, float]] = []


def prediction_json(base_url: str, **overrides: Any) -> dict[str, Any]:
    """A prediction as the API sends it, with its URLs (a stream's included) on `base_url`."""
    urls = {
        "get": f"{base_url}/v1/predictions/{PREDICTION_ID}",
        "cancel": f"{base_url}/v1/predictions/{PREDICTION_ID}/cancel",
        "stream": f"{base_url}/v1/predictions/{PREDICTION_ID}/stream",
    }
    return calls_support.prediction_json(
        **{"model": MODEL.partition(":")[0], "version": VERSION, "urls": urls, **overrides}
    )


def envelope(base_url: str, **overrides: Any) -> bytes:
    return json.dumps({"data": prediction_json(base_url, **overrides)}).encode()


def streaming_prediction(base_url: str) -> Prediction:
    return Prediction.from_dict(prediction_json(base_url))


def client_for(mode: str, base_url: str, deadline: float, **kwargs: Any) -> InferenceClient:
    """A client whose calls, runs and streams all have `deadline` seconds in all."""
    options: dict[str, Any] = {"call_timeout": deadline, "run_timeout": deadline, **kwargs}
    return connect(TOKEN, base_url, fast_async=mode == "async-aiohttp", **options)


@attrs.frozen
class Outcome:
    call: str
    mode: str
    error: BaseException | None
    result: Any
    elapsed: float

    def shown(self) -> str:
        """Everything a user could see of the error: its message, its repr and its whole chain ("" if none).

        A result is the server's data as it sent it: not the SDK's to redact.
        """
        if self.error is None:
            return ""
        return "\n".join([str(self.error), repr(self.error), *traceback.format_exception(self.error)])


def _sync_call(name: str, client: InferenceClient, base_url: str, deadline: float, directory: Path) -> Any:
    prediction = streaming_prediction(base_url)
    if name == "get":
        return calls.get(client, PREDICTION_ID)
    if name == "create":
        return calls.create(client, VERSION, {"prompt": "hi"})
    if name == "cancel":
        return calls.cancel(client, PREDICTION_ID)
    if name == "run":
        return calls.run(client, MODEL, {"prompt": "hi"})
    if name == "stream":
        return "".join(streaming.stream(client, MODEL, {"prompt": "hi"}))
    if name == "stream_prediction":
        return "".join(streaming.stream_prediction(client, prediction))
    if name == "wait":
        return waiting.wait(client, PREDICTION_ID, timeout=deadline)
    if name == "wait_stream":
        return waiting.wait(client, prediction, timeout=deadline)
    if name == "download":
        return files.download(f"{base_url}/files/out.mp4", directory / "sync.mp4", client=client, timeout=deadline)
    raise ValueError(name)


async def _async_call(name: str, client: InferenceClient, base_url: str, deadline: float, directory: Path) -> Any:
    prediction = streaming_prediction(base_url)
    if name == "get":
        return await calls.async_get(client, PREDICTION_ID)
    if name == "create":
        return await calls.async_create(client, VERSION, {"prompt": "hi"})
    if name == "cancel":
        return await calls.async_cancel(client, PREDICTION_ID)
    if name == "run":
        return await calls.async_run(client, MODEL, {"prompt": "hi"})
    if name == "stream":
        async with streaming.async_stream(client, MODEL, {"prompt": "hi"}) as text:
            return "".join([piece async for piece in text])
    if name == "stream_prediction":
        async with streaming.async_stream_prediction(client, prediction) as text:
            return "".join([piece async for piece in text])
    if name == "wait":
        return await waiting.async_wait(client, PREDICTION_ID, timeout=deadline)
    if name == "wait_stream":
        return await waiting.async_wait(client, prediction, timeout=deadline)
    if name == "download":
        path = directory / f"{client.fast_async}.mp4"
        return await files.async_download(f"{base_url}/files/out.mp4", path, client=client, timeout=deadline)
    raise ValueError(name)


def _timed(call: str, mode: str, function: Callable[[], Any]) -> Outcome:
    started = time.monotonic()
    try:
        result, error = function(), None
    except Exception as exc:  # the outcome is what the test inspects
        result, error = None, exc
    return Outcome(call, mode, error, result, time.monotonic() - started)


async def _atimed(call: str, mode: str, function: Callable[[], Awaitable[Any]], bound: float) -> Outcome:
    started = time.monotonic()
    try:
        with anyio.fail_after(bound):
            result, error = await function(), None
    except Exception as exc:  # TimeoutError from fail_after included: a hang
        result, error = None, exc
    return Outcome(call, mode, error, result, time.monotonic() - started)


def run_calls(
    mode: str,
    base_url: str,
    directory: Path,
    *,
    deadline: float,
    names: Sequence[str] = ALL_CALLS,
    **client_options: Any,
) -> list[Outcome]:
    """Run the named calls concurrently in `mode` against `base_url`; what each did, in order."""
    bound = deadline + HANG_MARGIN
    client = client_for(mode, base_url, deadline, **client_options)
    if mode == "sync":

        def sync_call(name: str) -> Outcome:
            return _timed(name, mode, lambda: _sync_call(name, client, base_url, deadline, directory))

        with client:
            pool = concurrent.futures.ThreadPoolExecutor(len(names))
            try:
                futures = [pool.submit(sync_call, name) for name in names]
                _, hung = concurrent.futures.wait(futures, timeout=bound)
                if hung:
                    hung_names = [name for name, future in zip(names, futures, strict=True) if future in hung]
                    raise AssertionError(f"sync calls still running after {bound} s: {hung_names}")
                return [future.result() for future in futures]
            finally:
                # Never wait here for a hung call: it ends when its server closes, after this returns.
                pool.shutdown(wait=False, cancel_futures=True)

    async def all_of_them() -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(names)

        async def one(index: int, name: str) -> None:
            outcomes[index] = await _atimed(
                name, mode, lambda: _async_call(name, client, base_url, deadline, directory), bound
            )

        async with client, anyio.create_task_group() as group:
            for index, name in enumerate(names):
                group.start_soon(one, index, name)
        return [outcome for outcome in outcomes if outcome is not None]

    return anyio.run(all_of_them)


def run_everywhere(
    handlers: Mapping[str, Handler],
    directory: Path,
    *,
    deadline: float,
    modes: Sequence[str] = MODES,
    names: Sequence[str] = ALL_CALLS,
    **client_options: Any,
) -> dict[tuple[str, str], list[Outcome]]:
    """`run_calls` for every case (a server each) in every mode, all at once: {(case, mode): outcomes}.

    Concurrent, so that the suite takes about one deadline per test rather than one per case.
    """
    bound = deadline + 2 * HANG_MARGIN  # past run_calls' own bound: it reports its hung calls first
    with contextlib.ExitStack() as stack:
        servers = {case: stack.enter_context(RawServer(handler)) for case, handler in handlers.items()}
        jobs = [(case, mode) for case in handlers for mode in modes]
        pool = concurrent.futures.ThreadPoolExecutor(len(jobs))
        try:
            futures = {
                job: pool.submit(
                    run_calls,
                    job[1],
                    servers[job[0]].base_url,
                    directory / f"{index}",
                    deadline=deadline,
                    names=names,
                    **client_options,
                )
                for index, job in enumerate(jobs)
            }
            _, hung = concurrent.futures.wait(futures.values(), timeout=bound)
            if hung:
                hung_jobs = [job for job, future in futures.items() if future in hung]
                raise AssertionError(f"still running after {bound} s: {hung_jobs}")
            results = {job: future.result() for job, future in futures.items()}
        finally:
            # The servers close after this, which unblocks whatever still waits on them.
            pool.shutdown(wait=False, cancel_futures=True)
        errors = [f"{case}: {error!r}" for case, server in servers.items() for error in server.errors]
    assert not errors, errors
    return results


def record(case: str, outcomes: Sequence[Outcome], deadline: float) -> None:
    for outcome in outcomes:
        overshoots.append((case, outcome.call, outcome.mode, outcome.elapsed - deadline))
