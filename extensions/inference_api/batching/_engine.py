"""Running one model over many inputs: bounded concurrency, rate limits, checkpoint and resume.

    for result in batch(client, ECHO, ({"n": n} for n in range(1000)), concurrency=50):
        print(result.index, result.status, result.output)

    async with async_batch(client, MODEL, Path("inputs.jsonl"), output="results.jsonl") as results:
        async for result in results:
            ...

- Inputs are read lazily: an iterable (or async iterable) of model inputs, or a `pathlib.Path`
  to a JSON Lines file with one input object per line (index = 0-based line number). A line that
  is not a JSON object becomes an `error` result; the batch goes on.
- At most `concurrency` inputs are in progress (created and not yet final) at once. Results come
  as they finish, or in input order with `ordered=True` (then at most `8 * concurrency` inputs
  run ahead of the oldest unfinished one, which bounds the memory held).
- Each result (`BatchResult`) has the input's `index`, the prediction's `id`, `status`,
  `output` and `error`. A failed or canceled prediction is a result like any other; so is an
  error once the client's retry policy has given up (status `error`, the reason in `error`).
- 429s caused by load slow the whole batch: every new request waits out the `Retry-After` (a
  short backoff when there is none, growing while the refusals go on), and the number of
  creates sent at once adapts (slow start, then additive increase and multiplicative
  decrease), so a rate-limited batch converges instead of hammering the server. A 429 with
  `Retry-After` is load; one without is load only when the share of creates refused grows with
  the number sent at once: refusals at random (the same share at any concurrency) are retried
  without slowing down (`AdaptiveLimit`). The predictions in progress stay bounded by
  `concurrency` alone: a rate limit is on requests, and a prediction that runs sends none.
- What fails every input stops the batch: the first create is sent alone, and a 401 or 403
  (the token), a 404 (no such model or version) or a 422 about the version (a malformed model
  ref) stops new creates at once and raises that error once the creates already sent are
  recorded.
- `output=` a path: the results file (JSON Lines, one record a line; the format is in `_core`'s
  docstring). Each prediction's id is written the moment it is created, and its final state
  when it has one: each line goes to the operating system with one `write()` at once, nothing
  is held in the process. When the batch completes, the file is rewritten (atomically) with one
  line per input, in input order. A symbolic link is written through: its target is appended
  to and replaced, the link stays.
- Run the same batch with the same file and it resumes, trusting the file only for what it
  can still vouch for:
  - succeeded inputs are kept; predictions that were running are waited for by id (a get,
    never a second create);
  - inputs whose last result is an error that can pass next time (`BatchResult.retryable`:
    authentication, rate limit, connection, server error, timeout) are done again;
  - inputs that failed for good (a failed or canceled prediction, an input refused with 422, a
    line that is not JSON) are kept, unless their input changed since (then done again: a line
    fixed since passes now); `retry_failed=True` does them all again;
  - each line records the model and a fingerprint of its input: a file whose predictions are
    of another model (another version; `owner/name:version` and `version` are the same) is
    refused, and so is a file whose predictions were made from inputs other than these, index
    by index (`ResultsMismatch`). Refused rather than done again: a changed input at a done
    index almost always means another inputs file or another results file than meant, and
    doing it again would replace results that cost predictions; refused, nothing is lost and
    the user picks another `output`. Inputs given as a `Path`, a list or a tuple are checked
    before anything is sent; an iterator, read once, is checked as it is read, and the batch
    stops at the first input that differs.
  - Files written before these keys existed are read as before (their lines are trusted: they
    cannot be checked), except that their `error` lines without a prediction are done again.
- A results file that cannot be written (a full disk, a file made read-only) stops new
  creates at once with `ResultsWriteError`, which names the file; a line cut short is cut back,
  and a prediction created whose id cannot be written is canceled (a rerun would create its
  input again).
- Stopping: `stop()`, leaving the `with` block early, Ctrl-C (sync) or cancelling the task
  (async) stop new creates at once; creates already sent are waited for, so every prediction
  created is in the results file; predictions still running are left running (a later run
  re-attaches them), or canceled with `cancel_on_stop=True`. A hard kill (`kill -9`) loses only
  the ids of the creates in flight at that moment (sent, not yet answered), whose inputs a
  later run creates again. The file is fsynced when the batch ends, not at each line (that
  would cost a disk flush per input): a power cut or an operating system crash can also lose
  the lines of the last few seconds.

The decisions (limits, results file records, ordering) are pure, in `_core`; this module is the
I/O around them. The sync `batch` runs the async engine on its own event loop in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import tempfile
import time
from array import array
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import anyio
import attrs

from inference_api_client import AuthenticatedClient
from inference_api_client.models.prediction import Prediction

from .._http import retry_policy
from .._refs import version_of
from .._waiting import PollSchedule, is_final
from ..calls import async_cancel_before, async_create
from ..connection import InferenceClient
from ..errors import APIError, PredictionError, RateLimitError, WaitTimeoutError
from ..waiting import DEFAULT_WAIT_TIMEOUT, async_wait
from ._core import (
    OTHER,
    PAUSE_BASE,
    REDO,
    AdaptiveLimit,
    BatchResult,
    InOrder,
    InvalidResultsFile,
    RateLimitsToCaller,
    ResultsMismatch,
    ResultsState,
    creation_record,
    fingerprint,
    fingerprint_value,
    parse_record,
    refuses_every_input,
)

__all__ = [
    "AsyncBatch",
    "Batch",
    "BatchResult",
    "BatchStats",
    "InvalidResultsFile",
    "ResultsMismatch",
    "ResultsWriteError",
    "async_batch",
    "batch",
    "count_lines",
]

logger = logging.getLogger("inference_api.batch")

DEFAULT_CONCURRENCY = 32
# An input answered 429 this many times is given up (status `error`); the limit halves at most
# once per round, so this takes a server that refuses nearly everything for a long time.
MAX_RATE_LIMITED_PER_INPUT = 20
# The first create goes alone (a refused token or model then stops the batch before the second);
# answered 429 this many times, the others go too.
PROBE_RATE_LIMITED = 3
# With ordered=True, how far (in inputs) new work may run ahead of the oldest unfinished input.
ORDERED_WINDOW_PER_SLOT = 8
_CANCEL_TIMEOUT = 10.0

ModelInput = Any  # a dict or a typed input model, as for `create`


@attrs.frozen
class _Invalid:
    """An input line that cannot be sent; it becomes an `error` result."""

    reason: str


@attrs.define
class _Item:
    index: int
    payload: Any = None
    prediction_id: str | None = None
    rate_limited: int = 0
    input_hash: int = 0  # its fingerprint, for the results file (0 when nothing is recorded)


@attrs.define
class BatchStats:
    """Counts for progress displays; `total` is None when the number of inputs is not known."""

    total: int | None = None
    previously_done: int = 0  # final in the results file before this run and kept: not redone
    previously_failed: int = 0  # of those, the ones that did not succeed
    retried: int = 0  # final in the results file, ended in error (or failed: retry_failed), done again
    succeeded: int = 0
    failed: int = 0  # failed and canceled predictions, and `error` results
    retryable: int = 0  # of those, `error` results that can pass next time: a rerun does them again
    in_progress: int = 0
    created: int = 0
    reattached: int = 0
    rate_limited: int = 0
    concurrency: int = 0  # the adaptive limit now: creates sent at once
    started_at: float = attrs.field(factory=time.monotonic)

    @property
    def done(self) -> int:
        """Inputs finished in this run."""
        return self.succeeded + self.failed

    @property
    def previously_succeeded(self) -> int:
        return self.previously_done - self.previously_failed


# --- reading inputs -------------------------------------------------------------------------------


def _parse_input_line(line: bytes, index: int) -> Any:
    where = f"input {index} (line {index + 1})"
    if not line.strip():
        return _Invalid(f"{where} is empty; each line must be a JSON object")
    try:
        value = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        return _Invalid(f"{where} is not valid JSON: {exc}")
    if not isinstance(value, dict):
        return _Invalid(f"{where} is a JSON {type(value).__name__}, not an object")
    return value


Check = Callable[[int, int], None]  # an input's index and fingerprint, compared with the results file's


def _no_check(index: int, input_hash: int) -> None:
    return None


def _file_inputs(
    path: Path, wanted: Callable[[int], bool], check: Check, hashed: bool
) -> Iterator[tuple[int, Any, int]]:
    """The lines of a JSON Lines file, parsed one at a time; lines not `wanted` are not parsed."""
    with path.open("rb") as lines:
        for index, line in enumerate(lines):
            input_hash = fingerprint(line.strip()) if hashed else 0
            check(index, input_hash)
            if wanted(index):
                yield index, _parse_input_line(line, index), input_hash


def _input_fingerprint(value: Any) -> int:
    if not isinstance(value, dict) and callable(getattr(value, "to_dict", None)):
        value = value.to_dict()  # a typed input model: the same input as its dict
    return fingerprint_value(value)


def _iterable_inputs(
    inputs: Iterable[ModelInput], wanted: Callable[[int], bool], check: Check, hashed: bool
) -> Iterator[tuple[int, Any, int]]:
    for index, value in enumerate(inputs):
        input_hash = _input_fingerprint(value) if hashed else 0
        check(index, input_hash)
        if wanted(index):
            yield index, value, input_hash


async def _async_iterable_inputs(
    inputs: AsyncIterable[ModelInput], wanted: Callable[[int], bool], check: Check, hashed: bool
) -> AsyncIterator[tuple[int, Any, int]]:
    index = 0
    async for value in inputs:
        input_hash = _input_fingerprint(value) if hashed else 0
        check(index, input_hash)
        if wanted(index):
            yield index, value, input_hash
        index += 1


def _fingerprints(inputs: Path | Sequence[ModelInput]) -> Iterator[tuple[int, int]]:
    """Every input's fingerprint, for the check made before anything is sent."""
    if isinstance(inputs, Path):
        with inputs.open("rb") as lines:
            for index, line in enumerate(lines):
                yield index, fingerprint(line.strip())
    else:
        for index, value in enumerate(inputs):
            yield index, _input_fingerprint(value)


def verify_inputs(state: ResultsState, inputs: Path | Sequence[ModelInput], where: str) -> int:
    """Compare every input with the results file's fingerprints before anything is sent: raise
    `ResultsMismatch` when results there were made from other inputs; the number of kept `error`
    lines whose input changed (done again, see `ResultsState.compare`)."""
    if not len(state.fingerprints):
        return 0
    other: list[int] = []
    changed = 0
    for index, input_hash in _fingerprints(inputs):
        if index >= len(state.fingerprints):
            break
        verdict = state.compare(index, input_hash)
        if verdict == OTHER:
            other.append(index)
        changed += verdict == REDO
    if other:
        raise _mismatch(where, other)
    return changed


def _mismatch(where: str, indexes: list[int]) -> ResultsMismatch:
    shown = ", ".join(str(index) for index in indexes[:5]) + (", ..." if len(indexes) > 5 else "")
    return ResultsMismatch(
        f"{where} holds results of other inputs: {len(indexes)} input(s) differ from the input their "
        f"prediction was made from (index {shown}). Nothing was sent and the file is unchanged: use another "
        "results file for these inputs, or the inputs file those results came from"
    )


def count_lines(path: Path) -> int:
    """The number of lines of a file (a last line without a line break counts), read in blocks."""
    count = 0
    last = b"\n"
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


# --- the results file -----------------------------------------------------------------------------


class ResultsWriteError(OSError):
    """The results file cannot be written (a full disk, a file made read-only): the batch stops
    creating at once; `filename` is the file's path."""


class _ResultsFile:
    """The append-only results file of one run: read back, locked, appended to, compacted at the end.

    A symbolic link is written through: the file opened, appended to and replaced by the
    compaction is the link's target, and the link stays a link.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._target = path
        self._file: IO[bytes] | None = None
        self._size = 0  # bytes of whole lines: a failed write is cut back to it
        self._broken: ResultsWriteError | None = None

    def open(self, model: str | None = None, retry_failed: bool = False) -> ResultsState:
        """Read what the file holds, drop a last line cut short by a crash, and open it to append.

        Locked for this process: two batches writing one file would create inputs twice.
        `ResultsMismatch` when its predictions are of another model than `model`.
        """
        state = ResultsState(model=model, retry_failed=retry_failed)
        self._target = Path(os.path.realpath(self.path))
        self._target.parent.mkdir(parents=True, exist_ok=True)
        file = self._target.open("a+b")
        try:
            _lock(file, self.path)
            file.seek(0)
            kept = 0
            for number, line in enumerate(file, start=1):
                if not line.endswith(b"\n"):
                    try:  # one write per line: a cut one is dropped, unless all but its line break arrived
                        state.add(parse_record(line, number, str(self.path)))
                    except InvalidResultsFile:
                        # Its length only: the line holds a model's output, which may quote anything.
                        logger.warning("%s: dropping its last line, cut short (%d bytes)", self.path, len(line))
                        file.truncate(kept)
                    else:
                        file.write(b"\n")
                        file.flush()
                    break
                if line.strip():
                    state.add(parse_record(line, number, str(self.path)))
                kept += len(line)
            if model is not None and state.other_model is not None:
                raise ResultsMismatch(
                    f"{self.path} holds results of model {state.other_model}, and this run's model is {model}: "
                    "nothing was sent and the file is unchanged; use another results file, or the same model"
                )
            self._size = file.seek(0, os.SEEK_END)
        except BaseException:
            file.close()
            raise
        self._file = file
        return state

    def write(self, record: dict[str, Any]) -> None:
        """Append one line with one `write()` to the operating system: a crash of this process,
        from then on, cannot lose it (measured: ~3 µs per line, with `json.dumps` ~4 µs).

        A write that fails is cut back to the last whole line (a part of a line in the middle
        would make the file unreadable), and so is every later one: `ResultsWriteError`, naming
        the file."""
        assert self._file is not None
        if self._broken is not None:
            raise self._broken
        line = json.dumps(record, ensure_ascii=False).encode() + b"\n"
        try:
            written = self._append(line)
            while written < len(line):  # a short write: a full disk answers so before failing
                written += self._append(line[written:])
        except OSError as error:
            with contextlib.suppress(OSError):
                os.ftruncate(self._file.fileno(), self._size)
            self._broken = ResultsWriteError(
                error.errno, f"cannot write the results file ({error.strerror or error})", str(self.path)
            )
            raise self._broken from error
        self._size += len(line)

    def _append(self, data: bytes) -> int:
        assert self._file is not None
        return os.write(self._file.fileno(), data)

    def close(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                os.fsync(self._file.fileno())
            self._file.close()
            self._file = None

    def compact(self) -> None:
        """Rewrite the file with only the last line of each index, in index order (atomically)."""
        assert self._file is not None
        file = self._file
        file.flush()
        file.seek(0)
        last = array("q")  # byte offset of each index's last line, -1 for none
        offset = 0
        lines = 0
        in_order = True
        previous = -1
        for number, line in enumerate(file, start=1):
            if line.strip():
                index = parse_record(line, number, str(self.path))["index"]
                if index >= len(last):
                    last.extend([-1] * (index + 1 - len(last)))
                in_order = in_order and index > previous
                previous = index
                last[index] = offset
                lines += 1
            offset += len(line)
        if in_order and lines == sum(1 for position in last if position >= 0):
            return  # one line per index, already in order
        target = self._target
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed below, on every path)
            dir=target.parent, prefix=f".{target.name}.", suffix=".part", delete=False
        )
        try:
            with handle:
                for position in last:
                    if position >= 0:
                        file.seek(position)
                        handle.write(file.readline())
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(OSError):
                os.chmod(handle.name, os.stat(target).st_mode & 0o7777)
            os.replace(handle.name, target)
        except BaseException as error:
            Path(handle.name).unlink(missing_ok=True)
            if isinstance(error, OSError):  # the file is whole, uncompacted: the next run reads it as it is
                raise ResultsWriteError(
                    error.errno, f"cannot compact the results file ({error.strerror or error})", str(self.path)
                ) from error
            raise


def _lock(file: IO[bytes], path: Path) -> None:
    try:
        import fcntl
    except ImportError:  # not POSIX: no advisory lock
        return
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise OSError(f"{path} is being written by another batch; use another results file") from None


# --- the engine -----------------------------------------------------------------------------------


def _batch_client(client: AuthenticatedClient) -> InferenceClient:
    """A client of the batch's own: the caller's settings, a fresh connection pool (on whichever
    event loop runs the batch), and 429s left to the batch's rate limiter."""
    policy = RateLimitsToCaller.of(retry_policy(client))
    if isinstance(client, InferenceClient):
        return attrs.evolve(client, retry=policy)
    settings = {
        str(field.alias): getattr(client, field.name) for field in attrs.fields(AuthenticatedClient) if field.init
    }
    return InferenceClient(**settings, retry=policy)


def _everything(index: int) -> bool:
    return True


@attrs.frozen
class _Shard:
    """For a worker of a fanned-out batch (`inference_api.batching.ray`): the inputs it owns (index
    modulo `count`), what the driver's results file says, and where records go instead of a file."""

    number: int
    count: int
    state: ResultsState
    on_record: Callable[[dict[str, Any]], object]

    def owns(self, index: int) -> bool:
        return index % self.count == self.number


class AsyncBatch:
    """A running batch: `async with` it, then `async for result in ...`; see the module docstring.

    The engine is plain asyncio: one dispatcher task starts one task per input as the limits
    allow, and results go to the reader through a deque. On anyio's task groups, cancel scopes
    and memory streams it cost 0.3-0.5 M more instructions per input (callgrind) than the SDK
    calls it makes, 7-10% of them; now the difference is within the measurement's noise
    (0.1 M). Nothing ever cancels a task during its create; `stop()` cancels only the tasks
    waiting for a prediction, and only once.
    """

    def __init__(
        self,
        client: AuthenticatedClient,
        model: str,
        inputs: Iterable[ModelInput] | AsyncIterable[ModelInput] | Path,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        ordered: bool = False,
        output: str | os.PathLike[str] | None = None,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        poll_interval: PollSchedule | float | None = None,
        cancel_on_stop: bool = False,
        retry_failed: bool = False,
        _shard: _Shard | None = None,
    ) -> None:
        if isinstance(inputs, str | bytes):
            raise TypeError("inputs is an iterable of model inputs, or a pathlib.Path to a JSON Lines file, not a str")
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be a whole number >= 1, not {concurrency!r}")
        version_of(model)  # a malformed ref fails every input alike: refused before anything is sent
        self._caller_client = client
        self._model = model
        self._inputs = inputs
        self._ordered = ordered
        self._results_file = _ResultsFile(Path(output)) if output is not None else None
        self._timeout = timeout
        # One schedule for every wait: `async_wait` would build (and validate) one per input.
        self._poll_interval = PollSchedule() if poll_interval is None else poll_interval
        self._cancel_on_stop = cancel_on_stop
        self._retry_failed = retry_failed
        self._shard = _shard
        self._recording = self._results_file is not None or _shard is not None
        self.concurrency = concurrency
        self.stats = BatchStats(concurrency=concurrency)
        self._limit = AdaptiveLimit(maximum=concurrency)  # creates sent at once, not predictions in progress
        self._creating = 0  # tasks started that have not had their create answered yet
        self._probed = False  # a create was answered (not 429): until then one is sent at a time
        self._stopping = False
        self._exhausted = False
        self._entered = False
        self._retry: deque[_Item] = deque()
        self._reattach: deque[_Item] = deque()
        self._next_new_index = 0
        self._in_order: InOrder | None = None
        self._sync_source: Iterator[tuple[int, Any, int]] | None = None
        self._async_source: AsyncIterator[tuple[int, Any, int]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # strong references: the loop keeps weak ones
        self._waiting: set[asyncio.Task[Any]] = set()  # tasks inside `async_wait`: what `stop()` interrupts
        self._interrupted: set[asyncio.Task[Any]] = set()  # those `stop()` cancelled
        self._changed: asyncio.Future[None] | None = None  # the dispatcher's wake-up, while it waits
        self._results: deque[BatchResult] = deque()  # for the reader; new inputs wait while it is full
        self._reader: asyncio.Future[None] | None = None  # the reader's wake-up, while it waits
        self._reading = True
        self._finished = False  # the dispatcher is done: no more results will come
        self._failure: BaseException | None = None  # what broke the engine (a results file that cannot be written)
        self.completed = False

    @property
    def stopped(self) -> bool:
        """Whether the batch was stopped before every input was done."""
        return self._stopping

    # The caller's side.

    async def __aenter__(self) -> Self:
        if self._entered:
            raise RuntimeError("a batch runs once")
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "async_batch runs on asyncio only (its engine is asyncio's); under trio, run the sync "
                "batch() in a worker thread: await trio.to_thread.run_sync(lambda: list(batch(...)))"
            ) from None
        self._entered = True
        self._loop = loop
        self._client = _batch_client(self._caller_client)
        policy = retry_policy(self._client)  # its cap; a shorter first pause (see AdaptiveLimit)
        self._limit.backoff = attrs.evolve(policy, backoff_base=min(policy.backoff_base, PAUSE_BASE)).backoff
        try:
            # Reads the results file, and the inputs too when they are checked against it.
            await anyio.to_thread.run_sync(self._prepare)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._client.aclose()
            if self._results_file is not None:
                self._results_file.close()
            raise
        self._dispatcher = self._loop.create_task(self._run())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        assert self._dispatcher is not None
        if not self.completed:
            self.stop()
        self._reading = False  # results nobody will read: they are in the results file
        self._results.clear()
        try:
            # Even when this task is cancelled: every create already sent is answered and recorded.
            await _uninterrupted(self._dispatcher)
        finally:
            with anyio.CancelScope(shield=True):
                await self._client.aclose()
                if self._async_source is not None and hasattr(self._async_source, "aclose"):
                    await self._async_source.aclose()
            self._close_sources()
            if self._results_file is not None:
                self._results_file.close()
        if self._failure is not None and self._failure is not exc:
            raise self._failure

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> BatchResult:
        if self._loop is None:
            raise RuntimeError("use the batch in `async with async_batch(...) as results:` before iterating")
        while True:
            if self._failure is not None:
                raise self._failure
            if self._results:
                if len(self._results) == self.concurrency:
                    self._notify()  # room again for new inputs
                return self._results.popleft()
            if self._finished:
                raise StopAsyncIteration
            self._reader = reader = self._loop.create_future()
            try:
                await reader
            finally:
                self._reader = None

    def stop(self) -> None:
        """Create nothing more; the batch ends once the creates already sent are answered and recorded.

        Callable from any thread.
        """
        loop = self._loop
        if loop is not None and not _in_loop_thread(loop):
            with contextlib.suppress(RuntimeError):  # the loop is closed: the batch is over
                loop.call_soon_threadsafe(self.stop)
            return
        if self._stopping or self.completed:
            return
        self._stopping = True
        self._retry.clear()
        self._reattach.clear()
        for task in self._waiting:
            if task not in self._interrupted:
                self._interrupted.add(task)
                task.cancel()
        self._notify()

    # The engine.

    def _prepare(self) -> None:
        if self._results_file is not None:
            state = self._results_file.open(self._model, self._retry_failed)
        else:
            state = self._shard.state if self._shard is not None else ResultsState()
        where = str(self._results_file.path) if self._results_file is not None else "the results"
        checkable = bool(len(state.fingerprints))
        if checkable and isinstance(self._inputs, Path | list | tuple):
            # Before anything is sent: a results file of other inputs is refused whole.
            verify_inputs(state, self._inputs, where)
            checkable = False  # done: not again while reading
        mine = self._shard.owns if self._shard is not None else _everything
        stats = self.stats
        stats.previously_done = len(state.done)
        stats.previously_failed = sum(count for status, count in state.counts.items() if status != "succeeded")
        stats.retried = len(state.redo)
        # Not read again from the inputs: final ones kept, and those whose prediction exists.
        done, in_flight = state.done, state.in_flight
        for index, prediction_id in sorted(in_flight.items()):
            if mine(index):
                self._reattach.append(_Item(index, prediction_id=prediction_id, input_hash=state.fingerprint_of(index)))

        def kept(index: int) -> bool:
            return index in done or index in in_flight

        def wanted(index: int) -> bool:
            return not kept(index) and mine(index)

        def check(index: int, input_hash: int) -> None:
            """While reading inputs that cannot be read twice (an iterator)."""
            verdict = state.compare(index, input_hash)
            if verdict == REDO:
                stats.previously_done -= 1
                stats.previously_failed -= 1
                stats.retried += 1
            elif verdict == OTHER:
                raise _mismatch(where, [index])

        checking = check if checkable else _no_check
        hashed = self._recording
        if isinstance(self._inputs, Path):
            self._sync_source = _file_inputs(self._inputs, wanted, checking, hashed)
        elif isinstance(self._inputs, AsyncIterable):
            self._async_source = _async_iterable_inputs(self._inputs, wanted, checking, hashed)
        else:
            self._sync_source = _iterable_inputs(self._inputs, wanted, checking, hashed)
        if self._ordered:
            reattached = {item.index for item in self._reattach}
            self._in_order = InOrder(lambda index: (kept(index) or not mine(index)) and index not in reattached)

    def _close_sources(self) -> None:
        if self._sync_source is not None and hasattr(self._sync_source, "close"):
            self._sync_source.close()

    def _notify(self) -> None:
        """Wake the dispatcher, if it waits: something it waits for may have changed."""
        changed = self._changed
        if changed is not None and not changed.done():
            changed.set_result(None)

    async def _wait_for_change(self, at_most: float | None = None) -> None:
        assert self._loop is not None
        self._changed = changed = self._loop.create_future()
        timer = None if at_most is None else self._loop.call_later(at_most, self._notify)
        try:
            await changed
        finally:
            self._changed = None
            if timer is not None:
                timer.cancel()

    async def _next_input(self) -> _Item | None:
        if self._sync_source is not None:
            pair = next(self._sync_source, None)
        else:
            assert self._async_source is not None
            pair = await anext(self._async_source, None)
        if pair is None:
            self._exhausted = True
            return None
        index, payload, input_hash = pair
        self._next_new_index = index + 1
        return _Item(index, payload, input_hash=input_hash)

    def _too_far_ahead(self) -> bool:
        return (
            self._in_order is not None
            and self._next_new_index >= self._in_order.expected + ORDERED_WINDOW_PER_SLOT * self.concurrency
        )

    async def _run(self) -> None:
        """The dispatcher: starts inputs as the limits allow, then waits for the last ones to finish."""
        assert self._loop is not None
        stats = self.stats
        try:
            while not self._stopping:
                if not (self._retry or self._reattach) and self._exhausted:
                    if stats.in_progress == 0:
                        break
                    await self._wait_for_change()
                    continue
                # Results the reader has not taken count too: they bound the memory held.
                # When the limit bounded predictions in progress, a server refusing a random 30% of
                # creates (not a rate limit) left a few in progress, each for a poll interval or
                # more: 1,000 echo inputs took 70-180 s, a naive gather 5 s (bench_batch.py).
                if (
                    stats.in_progress >= self.concurrency
                    or self._creating >= (self._limit.allowed if self._probed else 1)
                    or len(self._results) >= self.concurrency
                ):
                    await self._wait_for_change()
                    continue
                pause = self._limit.paused_until - time.monotonic()
                if pause > 0:
                    await self._wait_for_change(pause)
                    continue
                if self._retry:
                    item: _Item | None = self._retry.popleft()
                elif self._reattach:
                    item = self._reattach.popleft()
                    stats.reattached += 1
                elif self._too_far_ahead():
                    await self._wait_for_change()
                    continue
                else:
                    item = await self._next_input()
                if item is not None and not self._stopping:
                    stats.in_progress += 1
                    self._creating += 1
                    task = self._loop.create_task(self._process(item))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
            while stats.in_progress:  # stopped: the creates already sent are answered and recorded
                await self._wait_for_change()
            self.completed = not self._stopping
            if self._in_order is not None:
                self._deliver(self._in_order.rest())
            if self.completed and self._results_file is not None:
                await anyio.to_thread.run_sync(self._results_file.compact)
        except BaseException as error:  # kept as the batch's failure: `__aexit__` raises it
            self._fail(error)
            if not isinstance(error, Exception):
                raise
        finally:
            self._finished = True
            self._wake_reader()

    async def _process(self, item: _Item) -> None:
        try:
            result = await self._attempt(item)
            if result is not None:
                if self._recording:
                    self._record(result.record(self._model, item.input_hash))
                if result.succeeded:
                    self.stats.succeeded += 1
                else:
                    self.stats.failed += 1
                    self.stats.retryable += result.retryable
                self._deliver(self._in_order.add(result) if self._in_order is not None else (result,))
        except BaseException as error:  # a results file that cannot be written; a bug
            self._fail(error)
            if not isinstance(error, Exception):
                raise
        finally:
            self.stats.in_progress -= 1
            self._notify()

    def _deliver(self, results: Iterable[BatchResult]) -> None:
        if self._reading:
            self._results.extend(results)
            self._wake_reader()

    def _wake_reader(self) -> None:
        reader = self._reader
        if reader is not None and not reader.done():
            reader.set_result(None)

    def _fail(self, error: BaseException) -> None:
        """Stop the batch with `error`, raised to the reader (the first one, when several tasks fail)."""
        if self._failure is None:
            self._failure = error
        self.stop()
        self._wake_reader()

    def _record(self, record: dict[str, Any]) -> None:
        if self._results_file is not None:
            self._results_file.write(record)
        if self._shard is not None:
            self._shard.on_record(record)

    def _created(self) -> None:
        """A started task's create is answered (or it needed none): room for another create."""
        self._creating -= 1
        self._notify()

    async def _attempt(self, item: _Item) -> BatchResult | None:
        """The result of one input; None when it is put back (rate limited) or the batch stopped."""
        if isinstance(item.payload, _Invalid) or item.prediction_id is not None:
            self._created()
            if isinstance(item.payload, _Invalid):
                return BatchResult.from_error(item.index, None, item.payload.reason)
        if item.prediction_id is None:
            epoch, level = self._limit.epoch, self._limit.level
            # Nothing cancels this task before its create is answered (`stop()` interrupts waits
            # only), so a create once sent is always recorded: a later run never sends it again.
            try:
                prediction = await async_create(self._client, self._model, item.payload)
            except RateLimitError as error:
                return self._rate_limited(item, epoch, error, level)
            except APIError as error:
                self._probed = True
                if refuses_every_input(error):  # the token or the model: every other create would be refused too
                    self._fail(error)
                return BatchResult.from_error(item.index, None, error)
            except (ValueError, TypeError, OSError) as error:  # an input that cannot be encoded
                return BatchResult.from_error(item.index, None, error)
            finally:
                self._created()
            self._probed = True
            self._limit.on_success(level)
            self.stats.created += 1
            self.stats.concurrency = self._limit.allowed
            if is_final(prediction):  # its result is written at once, as its only line
                return BatchResult.from_prediction(item.index, prediction)
            if self._recording:
                try:
                    self._record(creation_record(item.index, prediction, self._model, item.input_hash))
                except OSError as error:  # created, and its id cannot be recorded: it must not run on
                    self._fail(error)
                    await self._cancel_unrecorded(prediction.id)
                    return None
            item.prediction_id = prediction.id
            if self._stopping:
                return await self._cancel(item) if self._cancel_on_stop else None
            return await self._wait(item, prediction)
        return await self._wait(item, item.prediction_id)

    async def _wait(self, item: _Item, prediction: Prediction | str) -> BatchResult | None:
        assert item.prediction_id is not None
        epoch = self._limit.epoch
        task = asyncio.current_task()
        assert task is not None
        self._waiting.add(task)
        try:
            if isinstance(prediction, str) and item.rate_limited:
                # A poll answered 429 is sent again after a backoff of its own: at once, one input
                # alone could spend all its tries while the others wait for their first poll.
                await asyncio.sleep(self._limit.backoff(item.rate_limited, random.random()))  # noqa: S311
            final = await async_wait(self._client, prediction, timeout=self._timeout, poll_interval=self._poll_interval)
        except asyncio.CancelledError:
            if task not in self._interrupted or task.uncancel() > 0:
                raise  # not (only) `stop()`'s
            # Stopped: the prediction runs on (its id is in the results file) unless canceled here.
            return await self._cancel(item) if self._cancel_on_stop else None
        except PredictionError as error:  # failed or canceled: a result like any other
            assert error.prediction is not None
            return BatchResult.from_prediction(item.index, error.prediction)
        except RateLimitError as error:
            return self._rate_limited(item, epoch, error, None)
        except (WaitTimeoutError, APIError) as error:
            return BatchResult.from_error(item.index, item.prediction_id, error)
        finally:
            self._waiting.discard(task)
        return BatchResult.from_prediction(item.index, final)

    def _rate_limited(self, item: _Item, epoch: int, error: RateLimitError, level: int | None) -> BatchResult | None:
        self.stats.rate_limited += 1
        pause = self._limit.on_rate_limited(
            epoch if self._probed else -1,  # one create alone: too few to halve the limit for
            time.monotonic(),
            error.retry_after,
            random.random(),  # noqa: S311
            level,
        )
        self.stats.concurrency = self._limit.allowed
        item.rate_limited += 1
        if item.rate_limited >= PROBE_RATE_LIMITED:
            self._probed = True  # the probe tells nothing while it is refused: the others wait no longer
        if item.rate_limited >= MAX_RATE_LIMITED_PER_INPUT:
            return BatchResult.from_error(
                item.index, item.prediction_id, f"{error}; rate limited {item.rate_limited} times, giving up", True
            )
        logger.debug("input %d rate limited; every request waits %.2f s", item.index, pause)
        if not self._stopping:
            self._retry.append(item)
        return None

    async def _cancel(self, item: _Item) -> BatchResult | None:
        """With `cancel_on_stop`: cancel a prediction the stop leaves running; its result if final."""
        assert item.prediction_id is not None
        try:
            prediction = await async_cancel_before(self._client, item.prediction_id, time.monotonic() + _CANCEL_TIMEOUT)
        except APIError as error:
            logger.warning("could not cancel prediction %s: %s", item.prediction_id, error)
            return None
        return BatchResult.from_prediction(item.index, prediction) if is_final(prediction) else None

    async def _cancel_unrecorded(self, prediction_id: str) -> None:
        """Cancel a prediction whose id could not be written: a rerun would create its input again."""
        try:
            await async_cancel_before(self._client, prediction_id, time.monotonic() + _CANCEL_TIMEOUT)
        except APIError as error:
            logger.warning("prediction %s could not be recorded nor canceled: %s", prediction_id, error)
        else:
            logger.warning("prediction %s could not be recorded: canceled", prediction_id)


def _in_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


async def _uninterrupted(task: asyncio.Task[None]) -> None:
    """Wait until `task` is done, even if the waiting task is cancelled meanwhile (then re-raised)."""
    cancelled: asyncio.CancelledError | None = None
    with anyio.CancelScope(shield=True):  # cancellation from anyio (a scope's deadline) waits
        while not task.done():
            try:
                await asyncio.wait((task,))
            except asyncio.CancelledError as error:  # plain asyncio cancellation cannot be shielded
                cancelled = error
    if cancelled is not None:
        raise cancelled


def async_batch(
    client: AuthenticatedClient,
    model: str,
    inputs: Iterable[ModelInput] | AsyncIterable[ModelInput] | Path,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    ordered: bool = False,
    output: str | os.PathLike[str] | None = None,
    timeout: float | None = DEFAULT_WAIT_TIMEOUT,
    poll_interval: PollSchedule | float | None = None,
    cancel_on_stop: bool = False,
    retry_failed: bool = False,
) -> AsyncBatch:
    """Run `model` over `inputs`; use as `async with async_batch(...) as results: async for ...`.

    `timeout` bounds the wait for each prediction (an `error` result when it passes, and the next
    run waits for it again); `poll_interval` is `wait`'s. `retry_failed`: with `output`, do again
    the inputs the results file says failed for good too (failed and canceled predictions,
    refused inputs), not only those whose error can pass next time. See the module docstring.

    Example:
        >>> async with async_batch(client, ECHO, [{"n": 1}, {"n": 2}], concurrency=8) as results:
        ...     print(sorted([result.output async for result in results], key=str))
        [{'n': 1}, {'n': 2}]
    """
    return AsyncBatch(
        client,
        model,
        inputs,
        concurrency=concurrency,
        ordered=ordered,
        output=output,
        timeout=timeout,
        poll_interval=poll_interval,
        cancel_on_stop=cancel_on_stop,
        retry_failed=retry_failed,
    )


class Batch(Iterator[BatchResult]):
    """A running batch for sync code: iterate it; `with` it (or `close()`) to stop early at once.

    The async engine runs on an event loop of its own, in a thread, from the first `next()` or
    from entering the `with` block. Ctrl-C while iterating stops the batch as `stop()` does
    (the creates already sent are recorded), then goes on as usual.
    """

    def __init__(self, engine: AsyncBatch) -> None:
        self._engine = engine
        self._stack: contextlib.ExitStack | None = None
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._finished = False

    @property
    def stats(self) -> BatchStats:
        return self._engine.stats

    @property
    def stopped(self) -> bool:
        return self._engine.stopped

    @property
    def completed(self) -> bool:
        return self._engine.completed

    def _start(self) -> anyio.from_thread.BlockingPortal | None:
        if self._stack is None and not self._finished:
            with contextlib.ExitStack() as stack:
                portal = stack.enter_context(anyio.from_thread.start_blocking_portal())
                stack.enter_context(portal.wrap_async_context_manager(self._engine))
                self._stack, self._portal = stack.pop_all(), portal
        return self._portal

    def __next__(self) -> BatchResult:
        portal = self._start()
        if portal is None:
            raise StopIteration
        try:
            return portal.call(self._engine.__anext__)
        except StopAsyncIteration:
            self.close()
            raise StopIteration from None
        except BaseException as error:  # KeyboardInterrupt included: stop, record, then go on
            self._finish(type(error), error, error.__traceback__)
            raise

    def stop(self) -> None:
        """As `AsyncBatch.stop`; callable from any thread."""
        portal = self._portal
        if portal is not None:
            portal.call(self._engine.stop)

    def close(self) -> None:
        """Stop (if still running) and wait until the creates already sent are recorded."""
        self._finish(None, None, None)

    def _finish(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        stack, self._stack, self._portal = self._stack, None, None
        self._finished = True
        if stack is not None:
            stack.__exit__(exc_type, exc, traceback)

    def __enter__(self) -> Self:
        self._start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._finish(exc_type, exc, traceback)

    def __del__(self) -> None:
        # A loop left with `break`, without `with`: stop like a generator would, when collected.
        if self._stack is not None:
            with contextlib.suppress(Exception):
                self.close()


def batch(
    client: AuthenticatedClient,
    model: str,
    inputs: Iterable[ModelInput] | Path,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    ordered: bool = False,
    output: str | os.PathLike[str] | None = None,
    timeout: float | None = DEFAULT_WAIT_TIMEOUT,
    poll_interval: PollSchedule | float | None = None,
    cancel_on_stop: bool = False,
    retry_failed: bool = False,
) -> Batch:
    """Run `model` over `inputs`; iterate the returned `Batch` for the results. See the module docstring.

    Example:
        >>> for result in batch(client, ECHO, [{"n": 1}, {"n": 2}], ordered=True):
        ...     print(result.index, result.status, result.output)
        0 succeeded {'n': 1}
        1 succeeded {'n': 2}
    """
    return Batch(
        async_batch(
            client,
            model,
            inputs,
            concurrency=concurrency,
            ordered=ordered,
            output=output,
            timeout=timeout,
            poll_interval=poll_interval,
            cancel_on_stop=cancel_on_stop,
            retry_failed=retry_failed,
        )
    )
