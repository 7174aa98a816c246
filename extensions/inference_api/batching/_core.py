"""The decisions of a batch, without I/O: results and their JSONL records, what a results file
says is done, how many predictions may run at once, and putting results back in input order.

`inference_api.batching` drives these with real requests, clocks and files; keeping them here means
they are tested without a server, a clock or a disk.

Results file (JSON Lines, append-only while a batch runs): one line when a prediction is created
(its id and first status), one more when it is final. The last line for an index is that input's
state. Every line is one record, an object with these keys (no header line: a reader that parses
line by line keeps working):

    index       the input's 0-based position (its line number in an inputs file)
    id          the prediction's id, or null when none was created
    status      starting / processing (created, not seen final), succeeded, failed, canceled,
                or error (no final prediction: the create was refused, retries ran out, ...)
    output      the prediction's output, or null
    error       the prediction's error or what went wrong, or null
    retryable   true for an error that can pass next time (401/403, 429, connection, 5xx,
                timeout): the next run does that input again
    model       the model ref the batch ran
    input_hash  a fingerprint of the input (16 hex digits, BLAKE2b): of the line's bytes, without
                the surrounding whitespace, for an inputs file; of its canonical JSON otherwise

Files written before `retryable`, `model` and `input_hash` existed are read as before: their
lines cannot be checked against the inputs or the model (they are trusted, as they were), and an
`error` line without a prediction is done again (it cannot say whether it can pass next time).

`ResultsState` reads such a file back: which indexes are final and kept (not redone), which
are done again (see `ResultsState.add`), which predictions were created but not seen final
(re-attached by id, never created again), and the fingerprint each input had.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import math
from array import array
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from .._retry import Decision, Failure, RetryPolicy
from ..errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    UnprocessableEntityError,
    WaitTimeoutError,
)

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
    "ResultsMismatch",
    "ResultsState",
    "fingerprint",
    "fingerprint_value",
    "parse_record",
]

# Our own status for an input that has no final prediction: its create was refused (a 422, an
# unreadable input line), or the SDK gave up (retries spent, the wait's deadline passed).
ERROR = "error"
PREDICTION_FINAL_STATUSES = frozenset({"succeeded", "failed", "canceled"})
FINAL_STATUSES = PREDICTION_FINAL_STATUSES | {ERROR}
RECORD_KEYS = ("index", "id", "status", "output", "error")  # required; retryable, model, input_hash are newer
# Statuses that say the request may pass when sent again, whatever the input: a timeout, a
# conflict, too early, rate limited (401/403 and 5xx are told by their classes).
RETRYABLE_STATUSES = frozenset({408, 409, 425, 429})


def is_retryable(error: BaseException | str) -> bool:
    """Whether an `error` result can pass next time: authentication (a token fixed since), rate
    limits, connections, server errors and timeouts can; a refused input (422), an unknown
    model, an input line that is not JSON cannot (until the input or the model changes)."""
    if isinstance(error, AuthenticationError | PermissionDeniedError | APIConnectionError | WaitTimeoutError):
        return True
    if isinstance(error, APIStatusError):
        return error.status_code >= 500 or error.status_code in RETRYABLE_STATUSES
    return isinstance(error, APIError) and error.status_code is None  # a response that could not be read


def refuses_every_input(error: BaseException) -> bool:
    """Whether a refused create says every other create will be refused too: the token (401/403),
    or the model (404: no such model or version; 422 about the `version` field)."""
    if isinstance(error, AuthenticationError | PermissionDeniedError | NotFoundError):
        return True
    if isinstance(error, UnprocessableEntityError):
        return any(
            isinstance(issue, dict) and list(issue.get("loc") or [])[1:2] == ["version"] for issue in error.issues
        )
    return False


def model_version(model: str) -> str:
    """What a create sends for a model ref: `owner/name:version` and `version` are the same model."""
    return model.rpartition(":")[2]


def fingerprint(data: bytes) -> int:
    """A 64-bit fingerprint of an input's bytes (never 0: 0 means "not known")."""
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big") or 1


def fingerprint_value(value: Any) -> int:
    """The fingerprint of an input given as data: of its canonical JSON (sorted keys, no spaces)."""
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr)
    except (TypeError, ValueError):  # keys that do not sort, a cycle: the input is refused when sent anyway
        text = repr(value)
    return fingerprint(text.encode("utf-8", "surrogatepass"))


def _hash_text(value: int) -> str:
    return f"{value:016x}"


def _parse_hash(text: Any) -> int:
    if isinstance(text, str) and len(text) == 16:
        try:
            return int(text, 16)
        except ValueError:
            pass
    return 0


@attrs.frozen
class BatchResult:
    """What became of one input of a batch.

    - `index`: the input's position (0-based; a file's line number).
    - `id`: the prediction's id; None when no prediction was created.
    - `status`: `succeeded`, `failed`, `canceled`, or `error` when there is no final prediction
      (the create was refused, retries ran out, the wait's deadline passed): `error` says why.
    - `output`: the prediction's output (None unless it has one).
    - `error`: the prediction's error, or what went wrong; None when it succeeded.
    - `retryable`: an `error` that can pass next time (authentication, rate limit, connection,
      server error, timeout): a rerun with the same results file does this input again.
    - `prediction`: the final `Prediction` when there is one (not written to results files).
    """

    index: int
    id: str | None
    status: str
    output: Any = None
    error: str | None = None
    retryable: bool = False
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
    def from_error(
        cls, index: int, prediction_id: str | None, error: BaseException | str, retryable: bool | None = None
    ) -> BatchResult:
        message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        retryable = is_retryable(error) if retryable is None else retryable
        return cls(index=index, id=prediction_id, status=ERROR, error=message, retryable=retryable)

    def record(self, model: str | None = None, input_hash: int = 0) -> dict[str, Any]:
        """The JSON object of this result in a results file (see the module docstring)."""
        return {
            "index": self.index,
            "id": self.id,
            "status": self.status,
            "output": self.output,
            "error": self.error,
            "retryable": self.retryable,
            "model": model,
            "input_hash": _hash_text(input_hash) if input_hash else None,
        }


def creation_record(
    index: int, prediction: Prediction, model: str | None = None, input_hash: int = 0
) -> dict[str, Any]:
    """The line written the moment a prediction is created: its id, before anything else can go wrong."""
    return BatchResult.from_prediction(index, prediction).record(model, input_hash)


class InvalidResultsFile(ValueError):
    """A results file has a line that is not a batch record (nothing is written to such a file)."""


class ResultsMismatch(InvalidResultsFile):
    """A results file holds results of another model or of other inputs: the run is refused before
    anything is sent, and nothing is written to the file."""


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
    """What a results file says, read line by line with `add`: the last line of an index decides.

    - succeeded, failed, canceled: final, kept (`done`); failed and canceled are done again with
      `retry_failed`;
    - error without a prediction: done again (`redo`) when it can pass next time (`retryable`,
      or a line from before that key existed) or with `retry_failed`; otherwise kept, unless the
      input or the model changed since (`changeable`): a 422 for an input fixed since, a line
      that was not JSON, passes now;
    - a prediction not seen final (starting, processing, or an error with an id: its wait timed
      out): `in_flight`, waited for again by id (a get, never a second create).

    A prediction that exists belongs to the input and the model it was made from: `other_model`
    is the first model ref, among lines with a prediction, whose version is not this run's model's;
    `fingerprints` keeps each input's (0: not known, a line from before fingerprints).
    Counts are of the kept final lines, by status.
    """

    done: IndexSet = attrs.field(factory=IndexSet)
    in_flight: dict[int, str] = attrs.field(factory=dict)
    counts: dict[str, int] = attrs.field(factory=dict)
    model: str | None = None
    retry_failed: bool = False
    redo: IndexSet = attrs.field(factory=IndexSet)
    changeable: IndexSet = attrs.field(factory=IndexSet)
    other_model: str | None = None
    fingerprints: array[int] = attrs.field(factory=lambda: array("Q"))
    _final_status: dict[int, str] = attrs.field(factory=dict, repr=False)

    def add(self, record: dict[str, Any]) -> None:
        index: int = record["index"]
        prediction_id: str | None = record["id"]
        status: str = record["status"]
        model = record.get("model")
        same_model = (
            self.model is None or not isinstance(model, str) or model_version(model) == model_version(self.model)
        )
        if prediction_id is not None and not same_model and self.other_model is None:
            self.other_model = model
        self._forget(index)
        self._set_fingerprint(index, _parse_hash(record.get("input_hash")))
        if status == ERROR and prediction_id is None:
            if record.get("retryable", True) is not False or self.retry_failed or not same_model:
                self.redo.add(index)
                return
            self.changeable.add(index)
            self._keep(index, status)
        elif status in PREDICTION_FINAL_STATUSES:
            if status != "succeeded" and self.retry_failed:
                self.redo.add(index)
            else:
                self._keep(index, status)
        elif prediction_id is not None:
            self.in_flight[index] = prediction_id

    def _keep(self, index: int, status: str) -> None:
        self.done.add(index)
        self.counts[status] = self.counts.get(status, 0) + 1
        if status != "succeeded":  # few, and needed to correct counts when a later line replaces them
            self._final_status[index] = status

    def _set_fingerprint(self, index: int, value: int) -> None:
        if index >= len(self.fingerprints):
            if not value:
                return
            self.fingerprints.extend([0] * max(index + 1 - len(self.fingerprints), len(self.fingerprints)))
        self.fingerprints[index] = value

    def fingerprint_of(self, index: int) -> int:
        """The fingerprint the file has for this input's result (0: none)."""
        return self.fingerprints[index] if index < len(self.fingerprints) else 0

    def _forget(self, index: int) -> None:
        self.in_flight.pop(index, None)
        self.redo.discard(index)
        self.changeable.discard(index)
        if index in self.done:
            self.done.discard(index)
            previous = self._final_status.pop(index, "succeeded")
            self.counts[previous] -= 1

    def compare(self, index: int, input_hash: int) -> str:
        """An input against the file's fingerprint of it: `SAME` (or not known, or no line),
        `REDO` when a kept `error` line without a prediction has another input now (it moves to
        `redo`: it has no result to lose), `OTHER` when a prediction (final or running) was made
        from another input: these results belong to other inputs."""
        known = self.fingerprint_of(index)
        if not known or not input_hash or known == input_hash:
            return SAME
        if index in self.changeable:
            self._forget(index)
            self.redo.add(index)
            return REDO
        if index in self.done or index in self.in_flight:
            return OTHER
        return SAME


SAME, REDO, OTHER = "same", "redo", "other"
GATHER, RANDOM, LOAD = "gather", "random", "load"


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
    """How many creates may be sent at once: TCP-style slow start and AIMD, plus a shared pause.

    It starts at `INITIAL` and grows by one per success (doubling every round of `limit`
    requests) until the first 429 taken for load; each such 429 then halves it, at most once
    per round (429s to requests sent before the last decrease, an older `epoch`, do not count
    again), and it grows by one per round (`1 / limit` per success). After `QUIET_ROUNDS` rounds
    without one it doubles again: a short storm of 429s must not leave a batch crawling for the
    rest of its run, while a steady rate limit keeps it near what the server allows.

    Load or chance: a 429 with `Retry-After` is load (the server says so). Without it, the
    answers are counted per level of the limit (`level`: its power of two), and compared with
    the nearest level that has `MIN_SAMPLES` answers (`judge`): past a rate limit, twice the
    creates sent at once get the same creates through, so the share that passes halves at the
    higher level; refusals at random pass the same share at any level. Refusals at random are
    no reason to slow down: the limit keeps growing at slow start's pace (bench_batch.py, 2,000
    echo inputs with 50% refused at random: 34 inputs/s halving on each refused round, where 0%
    ran 695/s; 445/s judged, where 0% ran 716/s). While a level has
    too few answers to judge, its 429s hold the limit (one more a round at most, no decrease):
    at most `MIN_SAMPLES` answers, a few rounds. With no other level to compare with, a 429 is
    load: the decrease gathers answers at a lower level.

    A 429 taken for load also pauses every new request until its `Retry-After` has passed, so
    that all workers back off together. Without `Retry-After`, halving is the backoff: a pause
    comes only when rounds are refused with no success between them, `PAUSE_BASE` at first and
    doubling up to the retry policy's cap.
    """

    maximum: int = attrs.field(validator=attrs.validators.ge(1))
    limit: float = 0.0
    threshold: float = math.inf  # slow start below it, additive increase above
    paused_until: float = 0.0
    epoch: int = 0
    rate_limited_rounds: int = 0  # decreases since the last success: grows the backoff
    successes_since_decrease: int = 0
    random_refusals: int = 0  # 429s taken for chance, not load
    backoff: Callable[[int, float], float] = attrs.field(
        default=RetryPolicy(backoff_base=PAUSE_BASE).backoff, repr=False
    )
    _sent: list[float] = attrs.field(factory=list, repr=False)  # answers per level (decayed)
    _passed: list[float] = attrs.field(factory=list, repr=False)  # of those, not refused

    DECREASE = 0.5
    INITIAL = 8
    QUIET_ROUNDS = 4
    MIN_SAMPLES = 24
    DECAY_AT = 1024  # answers at a level: older ones then weigh half (a server changes)
    LOAD_RATIO = 0.75  # passing less than this share of a lower level's pass rate: load

    def __attrs_post_init__(self) -> None:
        if self.limit <= 0:
            self.limit = float(min(self.maximum, self.INITIAL))

    @property
    def allowed(self) -> int:
        return max(1, int(self.limit))

    @property
    def level(self) -> int:
        """The limit's power of two: answers are compared between levels."""
        return self.allowed.bit_length() - 1

    def _count(self, level: int | None, passed: bool) -> None:
        if level is None:
            return
        if level >= len(self._sent):
            grow = level + 1 - len(self._sent)
            self._sent.extend([0.0] * grow)
            self._passed.extend([0.0] * grow)
        self._sent[level] += 1
        self._passed[level] += passed
        if self._sent[level] >= self.DECAY_AT:
            self._sent[level] /= 2
            self._passed[level] /= 2

    def judge(self, level: int) -> str:
        """What 429s without `Retry-After` at `level` say: `GATHER` (too few answers here yet to
        tell), `RANDOM` (the share that passes is the same as at the nearest level with enough
        answers, lower ones first) or `LOAD` (fewer pass at the higher of the two, or no other
        level to compare with: a decrease then gathers one)."""
        if level >= len(self._sent) or self._sent[level] < self.MIN_SAMPLES:
            return GATHER
        others = [*range(level - 1, -1, -1), *range(level + 1, len(self._sent))]
        other = next((each for each in others if self._sent[each] >= self.MIN_SAMPLES), None)
        if other is None:
            return LOAD
        low, high = min(level, other), max(level, other)
        passed_low = self._passed[low] / self._sent[low]
        passed_high = self._passed[high] / self._sent[high]
        return RANDOM if passed_high >= self.LOAD_RATIO * passed_low else LOAD

    def on_success(self, level: int | None = None) -> None:
        self._count(level, True)
        self.rate_limited_rounds = 0
        self.successes_since_decrease += 1
        if self.threshold != math.inf and self.successes_since_decrease >= self.QUIET_ROUNDS * self.limit:
            self.threshold = math.inf
        step = 1.0 if self.limit < self.threshold else 1.0 / self.limit
        self.limit = min(float(self.maximum), self.limit + step)

    def on_rate_limited(
        self, sent_in_epoch: int, now: float, retry_after: float | None, rand: float, level: int | None = None
    ) -> float:
        """Record a 429 to a request sent during `sent_in_epoch` (at `level`, for a create; None
        for other requests); returns the seconds to pause from `now`."""
        self._count(level, False)
        verdict = LOAD if retry_after is not None or level is None else self.judge(level)
        if verdict == RANDOM:
            self.random_refusals += 1
            self.threshold = math.inf  # chance: grow as before, at slow start's pace
            return max(0.0, self.paused_until - now)
        if verdict == GATHER:  # hold: grow by one a round at most, until this level can be judged
            self.threshold = min(self.threshold, self.limit)
            return max(0.0, self.paused_until - now)
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
