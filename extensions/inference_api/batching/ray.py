"""A batch fanned out over Ray worker processes (the `ray` extra): `ray_batch`.

    summary = ray_batch(MODEL, Path("inputs.jsonl"), Path("results.jsonl"), workers=8, concurrency=32)

Each worker is a Ray actor that owns its own client (made with `connect()` from the token and
base URL given here) and runs the same engine as `batch` over its shard: the inputs whose index
modulo `workers` is its number. Workers send their records (a prediction's id when it is
created, its final state when it has one) back to this process, which writes the one results
file, in the same format as `batch` and the command line, and resumes from it the same way:
final inputs are skipped, running predictions are re-attached by id by the worker that owns them,
inputs whose error can pass next time are done again (all failed ones with `retry_failed=True`),
and a results file of another model or of other inputs is refused before any worker starts.

When to reach for it: when the work on *your* side is the bottleneck — encoding large local
files into inputs, pre- or post-processing outputs — or when one process cannot keep enough
connections open. It does not get more out of the API's rate limit: every worker backs off on
its own 429s, so N workers only share the same allowance. For a rate-limited batch, `batch` in
one process is as fast and simpler.

- The input file is read by every worker: it must be at the same path on every node (a shared
  filesystem; a local cluster has it).
- If Ray is not initialized, a local cluster is started with `ray.init(**init_options)`, with
  no dashboard and usage statistics off unless the options say otherwise. To use an existing
  cluster, call `ray.init(address=...)` first.
- Each worker is an actor that reserves one CPU, as Ray's actors do: a cluster needs as many
  CPUs as `workers`, or the ones beyond wait for a free CPU.
- The token travels to the workers as an argument of their constructor.
- Stopping: Ctrl-C (in the main thread) stops every worker as `AsyncBatch.stop` does; the
  records of creates already sent still arrive and are written. A worker that dies ends the run
  with its error (Ray does not retry it: that could create inputs twice); run again to resume.
  A record is written once it reaches this process, so a worker killed outright can lose the
  ids of predictions created in the moment before, as `kill -9` can for `batch`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from ..connection import connect
from ..waiting import DEFAULT_WAIT_TIMEOUT
from ._core import FINAL_STATUSES, IndexSet, ResultsState
from ._engine import DEFAULT_CONCURRENCY, AsyncBatch, _ResultsFile, _Shard, verify_inputs

__all__ = ["RaySummary", "ray_batch"]

# Records a worker sends in one message, at most: fewer messages, and still sent as they come.
_RECORDS_PER_MESSAGE = 256


@attrs.define
class RaySummary:
    """What a `ray_batch` run did: counts over the whole results file, and per worker."""

    succeeded: int = 0
    failed: int = 0  # failed, canceled, `error`
    created: int = 0  # predictions created by this run
    done_by_worker: list[int] = attrs.field(factory=list)  # inputs finished in this run, by each worker
    previously_done: int = 0
    stopped: bool = False


class _Worker:
    """A Ray actor (made remote in `_actor_class`): one client, one shard at a time."""

    def __init__(self, token: str, base_url: str, connect_options: Mapping[str, Any]) -> None:
        self._client = connect(token, base_url, **connect_options)
        self._engine: AsyncBatch | None = None
        self._stop_requested = False

    async def run(
        self,
        model: str,
        inputs: str,
        number: int,
        count: int,
        done: bytes,
        in_flight: dict[int, str],
        concurrency: int,
        wait_timeout: float | None,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Run this worker's shard; yield its records in small lists, as they come."""
        state = ResultsState(done=IndexSet.from_bytes(done), in_flight=in_flight)
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        engine = AsyncBatch(
            self._client,
            model,
            Path(inputs),
            concurrency=concurrency,
            timeout=wait_timeout,
            _shard=_Shard(number, count, state, queue.put_nowait),
        )
        self._engine = engine

        async def drive() -> None:
            try:
                async with engine:
                    if self._stop_requested:
                        engine.stop()
                    async for _ in engine:
                        pass
            finally:
                queue.put_nowait(None)

        task = asyncio.create_task(drive())
        finished = False
        while not finished:
            records = [await queue.get()]
            while not queue.empty() and len(records) < _RECORDS_PER_MESSAGE:
                records.append(queue.get_nowait())
            finished = records[-1] is None
            batch = [record for record in records if record is not None]
            if batch:
                yield batch
        await task  # its error, if it failed

    def stop(self) -> None:
        self._stop_requested = True
        if self._engine is not None:
            self._engine.stop()

    async def close(self) -> None:
        await self._client.aclose()


def _actor_class() -> Any:
    import ray

    # No restarts, no retries: a worker run again by Ray would create its inputs again.
    return ray.remote(max_restarts=0, max_task_retries=0)(_Worker)


def _ensure_ray(workers: int, init_options: Mapping[str, Any] | None) -> None:
    import ray

    if ray.is_initialized():
        return
    # A local cluster for this run: nothing sent anywhere, no dashboard, unless asked.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    options: dict[str, Any] = {"include_dashboard": False, "num_cpus": workers, "configure_logging": False}
    options.update(init_options or {})
    ray.init(**options)


def ray_batch(
    model: str,
    inputs: Path,
    output: Path,
    *,
    workers: int = 2,
    concurrency: int = DEFAULT_CONCURRENCY,
    token: str | None = None,
    base_url: str | None = None,
    timeout: float | None = DEFAULT_WAIT_TIMEOUT,
    connect_options: Mapping[str, Any] | None = None,
    init_options: Mapping[str, Any] | None = None,
    retry_failed: bool = False,
) -> RaySummary:
    """Run `model` over the JSON Lines file `inputs` with `workers` Ray actors, each running up to
    `concurrency` predictions; results go to (and resume from) `output`. See the module docstring.

    `token`, `base_url` and `connect_options` are `connect()`'s, resolved here (the environment
    of this process, not of the workers). `retry_failed`: do again the inputs that failed for
    good too (see `batch`).
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number >= 1, not {workers!r}")
    if not Path(inputs).is_file():
        raise OSError(f"no such input file: {inputs}")
    probe = connect(token, base_url)  # resolves and checks the token and base URL, here
    token, base_url = probe.token, str(probe._base_url)
    results = _ResultsFile(Path(output))
    state = results.open(model, retry_failed)
    try:
        verify_inputs(state, Path(inputs), str(output))  # before any worker starts
        _ensure_ray(workers, init_options)
        summary = RaySummary(
            previously_done=len(state.done),
            succeeded=state.counts.get("succeeded", 0),
            failed=sum(count for status, count in state.counts.items() if status != "succeeded"),
            done_by_worker=[0] * workers,
        )
        completed = asyncio.run(
            _drive(
                results,
                state,
                summary,
                model=model,
                inputs=str(Path(inputs).resolve()),
                workers=workers,
                concurrency=concurrency,
                wait_timeout=timeout,
                worker_args=(token, base_url, dict(connect_options or {})),
            )
        )
        if completed:
            results.compact()
        return summary
    finally:
        results.close()


async def _drive(
    results: _ResultsFile,
    state: ResultsState,
    summary: RaySummary,
    *,
    model: str,
    inputs: str,
    workers: int,
    concurrency: int,
    wait_timeout: float | None,
    worker_args: tuple[str, str, dict[str, Any]],
) -> bool:
    """Start the workers, write every record they send; whether every shard ran to its end."""
    import ray

    actor = _actor_class()
    actors = [actor.remote(*worker_args) for _ in range(workers)]
    done = state.done.to_bytes()
    loop = asyncio.get_running_loop()

    def stop_all() -> None:
        summary.stopped = True
        for handle in actors:
            handle.stop.remote()
        loop.remove_signal_handler(signal.SIGINT)  # a second Ctrl-C raises KeyboardInterrupt

    handles_signal = threading.current_thread() is threading.main_thread()
    if handles_signal:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGINT, stop_all)

    async def follow(number: int, handle: Any) -> None:
        shard_in_flight = {index: pid for index, pid in state.in_flight.items() if index % workers == number}
        stream = handle.run.options(num_returns="streaming").remote(
            model, inputs, number, workers, done, shard_in_flight, concurrency, wait_timeout
        )
        async for reference in stream:
            for record in await reference:
                results.write(record)
                if record["status"] not in FINAL_STATUSES:  # written when the prediction was created
                    summary.created += 1
                    continue
                summary.done_by_worker[number] += 1
                if record["status"] == "succeeded":
                    summary.succeeded += 1
                else:
                    summary.failed += 1

    try:
        await asyncio.gather(*(follow(number, handle) for number, handle in enumerate(actors)))
    finally:
        if handles_signal:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGINT)
        await asyncio.gather(*(handle.close.remote() for handle in actors), return_exceptions=True)
        for handle in actors:
            ray.kill(handle)
    return not summary.stopped
