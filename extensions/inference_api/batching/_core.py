"""The decisions of a batch, without I/O: results and their JSONL records, what a results file
says is done, how many predictions may run at once, and putting results back in input order.

`inference_api.batching` drives these with real requests, clocks and files; keeping them here means
they are tested without a server, a clock or a disk.

Results file (JSON Lines, append-only while a batch runs): one line when a prediction is created
(its id and first status), one more when it is final. The last line for an index is that input's
state. `ResultsState` reads such a file back: which indexes are final (not redone) and which
predictions were created but not seen final (re-attached by id, never created again).
"""

from __future__ import annotations

import heapq
import json
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from .._retry import Decision, Failure, RetryPolicy

if TYPE_CHECKING:
    from inference_api_client.models.prediction import Prediction

__all__ = [
    "ERROR",
    "FINAL_STATUSES",
    "AdaptiveLimit",
    "BatchResult",
    "InOrder",
    "IndexSet",
    "InvalidResultsFile",
    "RateLimitsToCaller",
    "ResultsState",
    "parse_record",
]

# Our own status for an input that has no final prediction: its create was refused (a 422, an
# unreadable input line), or the SDK gave up (retries spent, the wait's deadline passed).
ERROR = "error"
PREDICTION_FINAL_STATUSES = frozenset({"succeeded", "failed", "canceled"})
FINAL_STATUSES = PREDICTION_FINAL_STATUSES | {ERROR}
RECORD_KEYS = ("index", "id", "status", "output", "error")


@attrs.frozen
class BatchResult:
    """What became of one input of a batch.

    - `index`: the input's position (0-based; a file's line number).
    - `id`: the prediction's id; None when no prediction was created.
    - `status`: `succeeded`, `failed`, `canceled`, or `error` when there is no final prediction
      (the create was refused, retries ran out, the wait's deadline passed): `error` says why.
    - `output`: the prediction's output (None unless it has one).
    - `error`: the prediction's error, or what went wrong; None when it succeeded.
    - `prediction`: the final `Prediction` when there is one (not written to results files).
    """

    index: int
    id: str | None
    status: str
    output: Any = None
    error: str | None = None
    prediction: Prediction | None = attrs.field(default=None, repr=False, eq=False)

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    @classmethod
    def from_prediction(cls, index: int, prediction: Prediction) -> BatchResult:
        return cls(
            index=index,
            id=prediction.id,
            status=str(prediction.status),
            output=prediction.output,
            error=prediction.error,
            prediction=prediction,
        )

    @classmethod
    def from_error(cls, index: int, prediction_id: str | None, error: BaseException | str) -> BatchResult:
        message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        return cls(index=index, id=prediction_id, status=ERROR, error=message)

    def record(self) -> dict[str, Any]:
        """The JSON object of this result in a results file."""
        return {"index": self.index, "id": self.id, "status": self.status, "output": self.output, "error": self.error}


def creation_record(index: int, prediction: Prediction) -> dict[str, Any]:
    """The line written the moment a prediction is created: its id, before anything else can go wrong."""
    return BatchResult.from_prediction(index, prediction).record()


class InvalidResultsFile(ValueError):
    """A results file has a line that is not a batch record (nothing is written to such a file)."""


def parse_record(line: bytes, line_number: int, where: str) -> dict[str, Any]:
    """One line of a results file; `InvalidResultsFile` naming the file and line when it is not a record."""
    try:
        record = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidResultsFile(f"{where} line {line_number} is not JSON ({exc}): is it a results file?") from None
    if not isinstance(record, dict) or any(key not in record for key in RECORD_KEYS):
        raise InvalidResultsFile(
            f"{where} line {line_number} is not a batch record (an object with {', '.join(RECORD_KEYS)})"
        )
    index, prediction_id, status = record["index"], record["id"], record["status"]
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise InvalidResultsFile(f"{where} line {line_number}: index must be a whole number >= 0, not {index!r}")
    if prediction_id is not None and (not isinstance(prediction_id, str) or not prediction_id):
        raise InvalidResultsFile(f"{where} line {line_number}: id must be a string or null, not {prediction_id!r}")
    if not isinstance(status, str):
        raise InvalidResultsFile(f"{where} line {line_number}: status must be a string, not {status!r}")
    return record


class IndexSet:
    """A set of input indexes, one bit each: a results file of millions of lines costs kilobytes."""

    def __init__(self) -> None:
        self._bits = bytearray()
        self._count = 0

    def add(self, index: int) -> None:
        byte, bit = divmod(index, 8)
        if byte >= len(self._bits):
            self._bits.extend(bytes(max(byte + 1 - len(self._bits), len(self._bits))))
        if not self._bits[byte] & (1 << bit):
            self._bits[byte] |= 1 << bit
            self._count += 1

    def discard(self, index: int) -> None:
        byte, bit = divmod(index, 8)
        if byte < len(self._bits) and self._bits[byte] & (1 << bit):
            self._bits[byte] &= ~(1 << bit) & 0xFF
            self._count -= 1

    def __contains__(self, index: object) -> bool:
        if not isinstance(index, int) or index < 0:
            return False
        byte, bit = divmod(index, 8)
        return byte < len(self._bits) and bool(self._bits[byte] & (1 << bit))

    def __len__(self) -> int:
        return self._count

    def to_bytes(self) -> bytes:
        return bytes(self._bits)

    @classmethod
    def from_bytes(cls, bits: bytes) -> IndexSet:
        indexes = cls()
        indexes._bits = bytearray(bits)
        indexes._count = sum(bin(byte).count("1") for byte in bits)
        return indexes


@attrs.define
class ResultsState:
    """What a results file says: indexes whose last line is final, and predictions to re-attach.

    An `error` line that names a prediction is not final: the prediction exists, so the next run
    waits for it again (a get, never a create). Counts are of the last line of each final index.
    """

    done: IndexSet = attrs.field(factory=IndexSet)
    in_flight: dict[int, str] = attrs.field(factory=dict)
    counts: dict[str, int] = attrs.field(factory=dict)
    _final_status: dict[int, str] = attrs.field(factory=dict, repr=False)

    def add(self, record: dict[str, Any]) -> None:
        index: int = record["index"]
        prediction_id: str | None = record["id"]
        status: str = record["status"]
        self._forget(index)
        if status in PREDICTION_FINAL_STATUSES or (status == ERROR and prediction_id is None):
            self.done.add(index)
            self.counts[status] = self.counts.get(status, 0) + 1
            if status != "succeeded":  # few, and needed to correct counts when a later line replaces them
                self._final_status[index] = status
        elif prediction_id is not None:
            self.in_flight[index] = prediction_id

    def _forget(self, index: int) -> None:
        self.in_flight.pop(index, None)
        if index in self.done:
            self.done.discard(index)
            previous = self._final_status.pop(index, "succeeded")
            self.counts[previous] -= 1


@attrs.frozen
class RateLimitsToCaller(RetryPolicy):
    """A retry policy that leaves 429s to the caller: a batch needs to see them to slow down."""

    @classmethod
    def of(cls, policy: RetryPolicy) -> RateLimitsToCaller:
        return cls(**attrs.asdict(policy, recurse=False))

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
        if failure is Failure.STATUS and status_code == 429:
            return Decision(False)
        return super().decide(
            attempt=attempt,
            idempotent=idempotent,
            failure=failure,
            status_code=status_code,
            retry_after=retry_after,
            rand=rand,
        )


PAUSE_BASE = 0.05  # seconds: a 429 without Retry-After first pauses every request up to this long


@attrs.define
class AdaptiveLimit:
    """How many inputs may be in progress at once: TCP-style slow start and AIMD, plus a shared pause.

    It starts at `INITIAL` and grows by one per success (doubling every round of `limit`
    requests) until the first 429; each 429 then halves it, at most once per round (429s to
    requests sent before the last decrease, an older `epoch`, do not count again), and it grows
    by one per round (`1 / limit` per success). After `QUIET_ROUNDS` rounds without a 429 it
    doubles again: a short storm of 429s must not leave a batch crawling for the rest of its
    run, while a steady rate limit (a 429 every few rounds) keeps it near what the server allows.

    A 429 also pauses every new request until its `Retry-After` has passed, so that all workers
    back off together. Without `Retry-After`, halving is the backoff: a pause comes only when
    rounds are refused with no success between them, `PAUSE_BASE` at first and doubling up to
    the retry policy's cap. Pausing at every 429 (0.5 s at first) made a server that refuses a
    random 30% of creates whatever the load take 183 s for 1,000 echo inputs, where a naive
    client took 5 s (bench_batch.py).
    """

    maximum: int = attrs.field(validator=attrs.validators.ge(1))
    limit: float = 0.0
    threshold: float = math.inf  # slow start below it, additive increase above
    paused_until: float = 0.0
    epoch: int = 0
    rate_limited_rounds: int = 0  # decreases since the last success: grows the backoff
    successes_since_decrease: int = 0
    backoff: Callable[[int, float], float] = attrs.field(
        default=RetryPolicy(backoff_base=PAUSE_BASE).backoff, repr=False
    )

    DECREASE = 0.5
    INITIAL = 8
    QUIET_ROUNDS = 4

    def __attrs_post_init__(self) -> None:
        if self.limit <= 0:
            self.limit = float(min(self.maximum, self.INITIAL))

    @property
    def allowed(self) -> int:
        return max(1, int(self.limit))

    def on_success(self) -> None:
        self.rate_limited_rounds = 0
        self.successes_since_decrease += 1
        if self.threshold != math.inf and self.successes_since_decrease >= self.QUIET_ROUNDS * self.limit:
            self.threshold = math.inf
        step = 1.0 if self.limit < self.threshold else 1.0 / self.limit
        self.limit = min(float(self.maximum), self.limit + step)

    def on_rate_limited(self, sent_in_epoch: int, now: float, retry_after: float | None, rand: float) -> float:
        """Record a 429 to a request sent during `sent_in_epoch`; returns the seconds to pause from `now`."""
        if sent_in_epoch == self.epoch:
            self.epoch += 1
            self.rate_limited_rounds += 1
            self.successes_since_decrease = 0
            self.limit = max(1.0, self.limit * self.DECREASE)
            self.threshold = self.limit
        if retry_after is not None:
            delay = retry_after
        elif self.rate_limited_rounds > 1:  # refused again with no success between: the server means it
            delay = self.backoff(self.rate_limited_rounds - 1, rand)
        else:
            delay = 0.0  # the first refusal since a success: halving is the backoff
        self.paused_until = max(self.paused_until, now + delay)
        return max(0.0, self.paused_until - now)


class InOrder:
    """Results put back in input order; indexes that will produce no result (done before) are skipped."""

    def __init__(self, skip: Callable[[int], bool]) -> None:
        self._skip = skip
        self._heap: list[tuple[int, BatchResult]] = []
        self.expected = 0
        self._advance()

    def _advance(self) -> None:
        while self._skip(self.expected):
            self.expected += 1

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, result: BatchResult) -> list[BatchResult]:
        """Take a finished result; return those now ready, in order."""
        heapq.heappush(self._heap, (result.index, result))
        ready = []
        while self._heap and self._heap[0][0] <= self.expected:
            index, ready_result = heapq.heappop(self._heap)
            ready.append(ready_result)
            if index == self.expected:
                self.expected += 1
                self._advance()
        return ready

    def rest(self) -> list[BatchResult]:
        """Everything still held, in order (when a batch stops before all results came)."""
        ready = [result for _, result in sorted(self._heap, key=lambda pair: pair[0])]
        self._heap.clear()
        return ready
