"""The batch's decisions without I/O: the adaptive limit, results file records, input order."""

from __future__ import annotations

import json
import random
from collections.abc import Callable

import pytest

from inference_api._retry import Failure, RetryPolicy
from inference_api.batching._core import (
    OTHER,
    PAUSE_BASE,
    REDO,
    SAME,
    AdaptiveLimit,
    BatchResult,
    IndexSet,
    InOrder,
    InvalidResultsFile,
    RateLimitsToCaller,
    ResultsState,
    fingerprint,
    fingerprint_value,
    is_retryable,
    parse_record,
    refuses_every_input,
)
from inference_api.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnprocessableEntityError,
    WaitTimeoutError,
)


def record(index: int, prediction_id: str | None, status: str, output: object = None) -> dict[str, object]:
    return {"index": index, "id": prediction_id, "status": status, "output": output, "error": None}


def no_backoff(retry_number: int, rand: float) -> float:
    return 0.25 * retry_number


# --- AdaptiveLimit ---------------------------------------------------------------------------------


def test_slow_start_doubles_each_round_up_to_the_maximum() -> None:
    limit = AdaptiveLimit(maximum=100)
    assert limit.allowed == AdaptiveLimit.INITIAL
    for _ in range(8):  # one round
        limit.on_success()
    assert limit.allowed == 16
    for _ in range(500):
        limit.on_success()
    assert limit.allowed == 100


def test_a_429_halves_the_limit_once_per_round_and_pauses_everyone() -> None:
    limit = AdaptiveLimit(maximum=64, limit=64.0, backoff=no_backoff)
    epoch = limit.epoch  # 64 requests sent in this round, several answered 429
    assert limit.on_rate_limited(epoch, now=100.0, retry_after=2.0, rand=0.5) == 2.0
    assert limit.allowed == 32
    for _ in range(10):  # the rest of that round's 429s: no further decrease
        limit.on_rate_limited(epoch, now=100.5, retry_after=2.0, rand=0.5)
    assert limit.allowed == 32
    assert limit.paused_until == 102.5, "each Retry-After counts from its own answer"
    limit.on_rate_limited(limit.epoch, now=103.0, retry_after=None, rand=0.5)  # a request of the new round
    assert limit.allowed == 16
    assert limit.paused_until == 103.0 + no_backoff(1, 0.5), "without Retry-After, a second round in a row: backoff"


def test_without_retry_after_only_rounds_refused_in_a_row_pause_and_the_pause_doubles() -> None:
    # Random 429s (a success between them) must not stall the batch; a server refusing round
    # after round must still see everyone wait longer each time.
    limit = AdaptiveLimit(maximum=64, limit=64.0)
    pauses = [limit.on_rate_limited(limit.epoch, now=0.0, retry_after=None, rand=0.999) for _ in range(5)]
    assert pauses == pytest.approx([0.0] + [PAUSE_BASE * 0.999 * 2**n for n in range(4)])
    limit.on_success()
    before = limit.limit
    assert limit.on_rate_limited(limit.epoch, now=10.0, retry_after=None, rand=0.999) == 0.0
    assert limit.limit == before / 2, "each refused round still halves the limit"


def test_after_a_decrease_it_grows_by_one_per_round() -> None:
    limit = AdaptiveLimit(maximum=64, limit=40.0)
    limit.on_rate_limited(limit.epoch, now=0.0, retry_after=0.0, rand=0.0)
    assert limit.allowed == 20
    for _ in range(20):
        limit.on_success()
    assert limit.allowed == 20 and limit.limit == pytest.approx(21.0, abs=0.05)


def test_quiet_rounds_after_a_storm_bring_back_slow_start() -> None:
    limit = AdaptiveLimit(maximum=200, limit=200.0)
    while limit.allowed > 1:  # a storm: every round refused
        limit.on_rate_limited(limit.epoch, now=0.0, retry_after=0.0, rand=0.0)
    successes = 0
    while limit.allowed < 200:
        limit.on_success()
        successes += 1
    # Additive increase alone would need ~20,000 successes (1 + 2 + ... + 199).
    assert successes < 600


def test_the_limit_never_goes_below_one() -> None:
    limit = AdaptiveLimit(maximum=4)
    for _ in range(10):
        limit.on_rate_limited(limit.epoch, now=0.0, retry_after=0.0, rand=0.0)
    assert limit.allowed == 1 and limit.limit == 1.0


def test_rate_limits_to_caller_keeps_every_other_rule_of_the_policy() -> None:
    policy = RateLimitsToCaller.of(RetryPolicy(max_attempts=6, backoff_base=1.0))
    assert (policy.max_attempts, policy.backoff_base) == (6, 1.0)
    assert not policy.decide(attempt=1, idempotent=False, failure=Failure.STATUS, status_code=429, rand=0.0).retry
    assert not policy.decide(attempt=1, idempotent=True, failure=Failure.STATUS, status_code=429, rand=0.0).retry
    assert policy.decide(attempt=1, idempotent=True, failure=Failure.STATUS, status_code=503, rand=0.0).retry
    assert policy.decide(attempt=1, idempotent=False, failure=Failure.NOT_SENT, rand=0.0).retry
    assert not policy.decide(attempt=1, idempotent=False, failure=Failure.TIMEOUT, rand=0.0).retry


def run_rounds(limit: AdaptiveLimit, refused: Callable[[int], float], rounds: int, seed: int = 3) -> list[int]:
    """Send `allowed` creates a round; each is refused with probability `refused(allowed)`; the
    limit after each round."""
    dice = random.Random(seed)
    seen = []
    for _ in range(rounds):
        epoch, level, sent = limit.epoch, limit.level, limit.allowed
        for _ in range(sent):
            if dice.random() < refused(sent):
                limit.on_rate_limited(epoch, now=0.0, retry_after=None, rand=0.5, level=level)
            else:
                limit.on_success(level)
        seen.append(limit.allowed)
    return seen


def test_refusals_at_random_do_not_hold_the_limit_down() -> None:
    # Half the creates refused whatever the load: halving on each refused round held it near 1.
    limit = AdaptiveLimit(maximum=200)
    seen = run_rounds(limit, lambda sent: 0.5, rounds=200)
    assert min(seen[-50:]) > 100, seen
    assert limit.random_refusals > 0


def test_refusals_that_grow_with_the_load_still_halve_it() -> None:
    # A server that takes 16 creates at once and refuses the rest, without Retry-After.
    limit = AdaptiveLimit(maximum=200)
    seen = run_rounds(limit, lambda sent: max(0.0, 1 - 16 / sent), rounds=300)
    assert max(seen[-100:]) <= 64 and sum(seen[-100:]) / 100 < 40, seen


def test_a_429_with_retry_after_is_load_whatever_was_seen_before() -> None:
    limit = AdaptiveLimit(maximum=200)
    run_rounds(limit, lambda sent: 0.5, rounds=200)
    before = limit.allowed
    pause = limit.on_rate_limited(limit.epoch, now=5.0, retry_after=1.5, rand=0.5, level=limit.level)
    assert pause == 1.5 and limit.allowed == before // 2


# --- records and the results file state -------------------------------------------------------------


def test_parse_record_names_the_file_and_line_of_what_is_wrong() -> None:
    assert parse_record(json.dumps(record(3, "abc", "starting")).encode(), 1, "r.jsonl")["index"] == 3
    cases = {
        b"not json\n": "r.jsonl line 7 is not JSON",
        b"[1, 2]\n": "line 7 is not a batch record",
        b'{"index": 1, "id": "a", "status": "succeeded"}\n': "not a batch record",
        json.dumps(record(-1, "a", "succeeded")).encode(): "index must be a whole number",
        json.dumps(record(True, "a", "succeeded")).encode(): "index must be a whole number",
        json.dumps(record(1, "", "succeeded")).encode(): "id must be a string or null",
        json.dumps({**record(1, "a", "x"), "status": 5}).encode(): "status must be a string",
    }
    for line, message in cases.items():
        with pytest.raises(InvalidResultsFile, match=message):
            parse_record(line, 7, "r.jsonl")


def test_results_state_keeps_the_last_line_of_each_index() -> None:
    state = ResultsState()
    lines = [
        record(0, "a", "starting"),
        record(1, "b", "starting"),
        record(0, "a", "succeeded", {"x": 1}),
        {**record(2, None, "error"), "retryable": False},  # the create was refused (422): final
        record(3, "d", "starting"),
        record(3, "d", "error"),  # gave up waiting: the prediction exists, wait for it again
        record(4, "e", "failed"),
        record(5, "f", "processing"),
        record(5, "f", "canceled"),
    ]
    for line in lines:
        state.add(line)
    assert sorted(i for i in range(10) if i in state.done) == [0, 2, 4, 5]
    assert state.in_flight == {1: "b", 3: "d"}
    assert state.counts == {"succeeded": 1, "error": 1, "failed": 1, "canceled": 1}
    state.add(record(4, "e2", "succeeded"))  # a later line replaces a final one
    assert state.counts["failed"] == 0 and state.counts["succeeded"] == 2


def test_index_set_is_a_set_of_whole_numbers() -> None:
    indexes = IndexSet()
    for index in (0, 7, 8, 1_000_003, 7):
        indexes.add(index)
    assert len(indexes) == 4
    assert 1_000_003 in indexes and 8 in indexes and 9 not in indexes and -1 not in indexes
    assert "8" not in indexes
    indexes.discard(8)
    indexes.discard(9)
    assert 8 not in indexes and len(indexes) == 3


def test_batch_result_records_have_their_fields() -> None:
    result = BatchResult.from_error(4, None, ValueError("bad input"))
    assert result.record("acme/echo:v1", 0xAB) == {
        "index": 4,
        "id": None,
        "status": "error",
        "output": None,
        "error": "ValueError: bad input",
        "retryable": False,
        "model": "acme/echo:v1",
        "input_hash": "00000000000000ab",
    }
    assert not result.succeeded


# --- input order ----------------------------------------------------------------------------------


def result(index: int) -> BatchResult:
    return BatchResult(index=index, id=f"p{index}", status="succeeded")


def test_in_order_holds_results_until_the_ones_before_them_came() -> None:
    order = InOrder(skip=lambda index: index in {0, 3})  # done in an earlier run
    assert order.expected == 1
    assert order.add(result(2)) == []
    assert [r.index for r in order.add(result(1))] == [1, 2]
    assert order.expected == 4, "index 3 produces no result"
    assert [r.index for r in order.add(result(6))] == []
    assert [r.index for r in order.add(result(4))] == [4]
    assert len(order) == 1
    assert [r.index for r in order.rest()] == [6]
    assert len(order) == 0


def test_in_order_with_nothing_skipped_is_the_identity_on_sorted_input() -> None:
    order = InOrder(skip=lambda index: False)
    out = [r.index for i in (1, 0, 3, 2, 5, 4) for r in order.add(result(i))]
    assert out == [0, 1, 2, 3, 4, 5]


# --- reruns: what is done again --------------------------------------------------------------------


def line(index: int, prediction_id: str | None, status: str, **fields: object) -> dict[str, object]:
    return {**record(index, prediction_id, status), **fields}


def test_errors_that_can_pass_are_done_again_and_those_for_good_are_kept() -> None:
    state = ResultsState(model="acme/echo:v1")
    state.add(line(0, None, "error", retryable=True, input_hash="00000000000000aa"))  # a 401, a 503
    state.add(line(1, None, "error", retryable=False, input_hash="00000000000000bb"))  # a 422
    state.add(line(2, None, "error"))  # a line from before `retryable`: cannot say, done again
    state.add(line(3, "d", "failed", input_hash="00000000000000dd"))
    state.add(line(4, "e", "canceled"))
    state.add(line(5, "f", "succeeded", input_hash="00000000000000ff"))
    assert sorted(i for i in range(6) if i in state.redo) == [0, 2]
    assert sorted(i for i in range(6) if i in state.done) == [1, 3, 4, 5]
    assert state.counts == {"error": 1, "failed": 1, "canceled": 1, "succeeded": 1}

    # The 422'd input changed: done again; the same input: kept.
    assert state.compare(1, 0xBB) == SAME and 1 in state.done
    assert state.compare(1, 0xBC) == REDO and 1 in state.redo and 1 not in state.done
    assert state.counts["error"] == 0
    # A prediction made from another input: these results belong to other inputs.
    assert state.compare(5, 0xF0) == OTHER and state.compare(3, 0xD0) == OTHER
    assert state.compare(5, 0xFF) == SAME and state.compare(4, 0x1234) == SAME, "no fingerprint: trusted"
    assert state.compare(99, 0x1) == SAME, "no line for it"


def test_retry_failed_does_every_failure_again() -> None:
    state = ResultsState(retry_failed=True)
    for index, (prediction_id, status) in enumerate(
        [(None, "error"), ("b", "failed"), ("c", "canceled"), ("d", "succeeded"), ("e", "starting")]
    ):
        state.add(line(index, prediction_id, status, retryable=False))
    assert sorted(i for i in range(5) if i in state.redo) == [0, 1, 2]
    assert sorted(i for i in range(5) if i in state.done) == [3] and state.in_flight == {4: "e"}


def test_another_model_is_found_among_predictions_and_its_refusals_are_done_again() -> None:
    state = ResultsState(model="acme/echo:v2")
    state.add(line(0, None, "error", retryable=False, model="acme/echo:v1"))  # its 404: no prediction
    assert state.other_model is None and 0 in state.redo, "another model's refusal is done again"
    state.add(line(1, "b", "succeeded", model="v2"))  # the same version, named another way
    assert state.other_model is None
    state.add(line(2, "c", "succeeded", model="acme/echo:v1"))
    assert state.other_model == "acme/echo:v1"


def test_fingerprints_are_of_the_content_not_the_spelling() -> None:
    assert fingerprint_value({"a": 1, "b": [1, 2]}) == fingerprint_value({"b": [1, 2], "a": 1})
    assert fingerprint_value({"a": 1}) != fingerprint_value({"a": 2})
    assert fingerprint(b'{"a": 1}') != fingerprint(b'{"a":  1}'), "a file's line: its bytes"
    assert all(fingerprint(bytes([n])) != 0 for n in range(256)), "0 means not known"


def test_which_errors_can_pass_next_time_and_which_stop_the_batch() -> None:
    def status(kind: type[APIStatusError], code: int, detail: object = None) -> APIStatusError:
        return kind("refused", status_code=code, detail=detail)

    can_pass = [
        status(AuthenticationError, 401),
        status(PermissionDeniedError, 403),
        status(RateLimitError, 429),
        status(ServerError, 503),
        APIConnectionError("reset"),
        APITimeoutError("slow"),
        WaitTimeoutError("waited", prediction=None),
    ]
    assert all(is_retryable(error) for error in can_pass)
    version_refused = status(UnprocessableEntityError, 422, [{"loc": ["body", "version"], "msg": "bad"}])
    input_refused = status(UnprocessableEntityError, 422, [{"loc": ["body", "input", "prompt"], "msg": "missing"}])
    for_good = [
        input_refused,
        version_refused,
        status(BadRequestError, 400),
        status(NotFoundError, 404),
        ValueError("x"),
    ]
    assert not any(is_retryable(error) for error in for_good)
    assert not is_retryable("input 3 (line 4) is not valid JSON")

    stops = [
        status(AuthenticationError, 401),
        status(PermissionDeniedError, 403),
        status(NotFoundError, 404),
        version_refused,
    ]
    assert all(refuses_every_input(error) for error in stops)
    assert not any(
        refuses_every_input(error) for error in (input_refused, status(ServerError, 500), APIConnectionError("x"))
    )
