"""The pure waiting policy: the poll schedule, the deadline, change detection, final states."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inference_api._waiting import (
    PollSchedule,
    PredictionSoFar,
    WaitClock,
    final_result,
    has_changed,
    is_final,
    timeout_error,
)
from inference_api.errors import APIResponseError, PredictionCanceledError, PredictionError, WaitTimeoutError
from inference_api_client.models.prediction import Prediction
from inference_api_client.models.prediction_status import PredictionStatus
from tests.extensions.calls_support import TOKEN, prediction_json


def prediction(**overrides: Any) -> Prediction:
    return Prediction.from_dict(prediction_json(**overrides))


# --- the schedule ---------------------------------------------------------------------------------


def test_the_default_schedule_starts_fast_and_backs_off_to_a_bound() -> None:
    delays = list(itertools.islice(PollSchedule().delays(), 11))
    assert delays == pytest.approx([0.1, 0.15, 0.225, 0.3375, 0.50625, 0.759375, 1, 1, 1, 1, 1])


def test_a_fixed_interval_is_a_schedule_with_factor_one() -> None:
    schedule = PollSchedule(initial=0.5, factor=1.0, maximum=0.5)
    assert list(itertools.islice(schedule.delays(), 3)) == [0.5, 0.5, 0.5]


def test_the_schedule_does_not_overflow_on_a_very_long_wait() -> None:
    assert PollSchedule().delay(10_000) == 1.0


@given(
    initial=st.floats(0.001, 5),
    factor=st.floats(1, 10),
    extra=st.floats(0, 60),
    polls=st.integers(1, 5000),
)
def test_the_schedule_never_shrinks_and_never_exceeds_its_bound(
    initial: float, factor: float, extra: float, polls: int
) -> None:
    schedule = PollSchedule(initial=initial, factor=factor, maximum=initial + extra)
    assert schedule.delay(1) == initial
    assert initial <= schedule.delay(polls) <= schedule.maximum
    assert schedule.delay(polls) <= schedule.delay(polls + 1)


def test_a_schedule_whose_bound_is_below_its_start_is_refused() -> None:
    with pytest.raises(ValueError, match="maximum"):
        PollSchedule(initial=1.0, maximum=0.5)
    with pytest.raises(ValueError):
        PollSchedule(initial=0)


# --- the deadline ---------------------------------------------------------------------------------


def test_sleeps_never_go_past_the_deadline() -> None:
    clock = WaitClock.start(now=100.0, timeout=1.0)
    assert clock.sleep_for(2.0, now=100.0) == 1.0
    assert clock.sleep_for(0.2, now=100.5) == 0.2
    assert clock.sleep_for(2.0, now=100.7) == pytest.approx(0.3)
    assert clock.sleep_for(2.0, now=105.0) == 0.0
    assert not clock.expired(100.999)
    assert clock.expired(101.0)


@given(timeout=st.floats(0, 100), wanted=st.floats(0, 100), elapsed=st.floats(0, 200))
def test_a_sleep_ends_by_the_deadline(timeout: float, wanted: float, elapsed: float) -> None:
    clock = WaitClock.start(now=0.0, timeout=timeout)
    assert elapsed + clock.sleep_for(wanted, now=elapsed) <= max(timeout, elapsed) + 1e-9


def test_simulated_wait_polls_fast_first_and_stops_at_the_deadline() -> None:
    # The loop wait() runs, on a fake clock: the schedule, capped by the deadline.
    schedule, clock, now, polls = PollSchedule(), WaitClock.start(0.0, timeout=5.0), 0.0, [0.0]
    while not clock.expired(now):
        now += clock.sleep_for(schedule.delay(len(polls)), now)
        polls.append(round(now, 6))
    # The last poll lands on the deadline, not after it.
    assert polls == [0.0, 0.1, 0.25, 0.475, 0.8125, 1.31875, 2.078125, 3.078125, 4.078125, 5.0]


def test_without_a_timeout_there_is_no_deadline() -> None:
    clock = WaitClock.start(now=0.0, timeout=None)
    assert not clock.expired(1e12)
    assert clock.remaining(5.0) is None
    assert clock.sleep_for(2.0, now=1e12) == 2.0


@pytest.mark.parametrize("timeout", [-1.0, float("nan")])
def test_a_negative_or_nan_timeout_is_refused(timeout: float) -> None:
    with pytest.raises(ValueError, match="timeout"):
        WaitClock.start(now=0.0, timeout=timeout)


# --- states ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "final"),
    [("starting", False), ("processing", False), ("succeeded", True), ("failed", True), ("canceled", True)],
)
def test_final_statuses(status: str, final: bool) -> None:
    assert is_final(prediction(status=status)) is final


def test_a_status_newer_than_the_sdk_is_not_final() -> None:
    assert not is_final(prediction(status="queued_on_gpu"))


def test_changes_of_status_logs_or_output_are_changes() -> None:
    first = prediction(status="processing", logs="a", output=["x"])
    assert has_changed(None, first)
    assert not has_changed(first, prediction(status="processing", logs="a", output=["x"]))
    assert has_changed(first, prediction(status="succeeded", logs="a", output=["x"]))
    assert has_changed(first, prediction(status="processing", logs="a\nb", output=["x"]))
    assert has_changed(first, prediction(status="processing", logs="a", output=["x", "y"]))


def test_a_succeeded_prediction_is_the_result() -> None:
    done = prediction(status="succeeded", output=["hi"])
    assert final_result(done) is done


def test_a_failed_prediction_raises_prediction_error_carrying_it() -> None:
    failed = prediction(status="failed", error=f"bad input (token {TOKEN})")
    with pytest.raises(PredictionError) as caught:
        final_result(failed, (TOKEN,))
    assert type(caught.value) is PredictionError
    assert caught.value.prediction is failed
    assert "bad input" in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_a_canceled_prediction_raises_its_own_error() -> None:
    canceled = prediction(status="canceled")
    with pytest.raises(PredictionCanceledError) as caught:
        final_result(canceled)
    assert caught.value.prediction is canceled


def test_an_unfinished_prediction_is_not_a_result() -> None:
    with pytest.raises(ValueError, match="not finished"):
        final_result(prediction(status="processing"))


def test_the_timeout_error_carries_the_last_prediction() -> None:
    last = prediction(status="processing")
    error = timeout_error(last, 5.0, canceled=True)
    assert isinstance(error, WaitTimeoutError)
    assert error.prediction is last
    assert "5.0 s" in str(error)
    assert "canceled" in str(error)


def test_events_update_a_copy_of_the_prediction() -> None:
    original = prediction(status="starting", output=None, logs=None, extra="kept")
    so_far = PredictionSoFar(original)
    logs_seen = []
    for kind, data in [("output", "a"), ("logs", "l1"), ("output", "b"), ("logs", "l2")]:
        assert so_far.take(kind, data)
        logs_seen.append(so_far.prediction().logs)
    updated = so_far.prediction()
    assert updated.output == ["a", "b"]
    assert updated.logs == "l1\nl2\n"
    assert logs_seen == [None, "l1\n", "l1\n", "l1\nl2\n"]
    assert updated.status == PredictionStatus.PROCESSING
    assert updated.id == original.id
    assert updated.additional_properties == {"extra": "kept"}
    assert (original.status, original.output, original.logs) == (PredictionStatus.STARTING, None, None)


def test_updates_share_one_growing_output_list() -> None:
    # A copy per update would make following a long stream quadratic: each update is O(1).
    so_far = PredictionSoFar(prediction(status="processing"))
    so_far.take("output", "a")
    first = so_far.prediction()
    so_far.take("output", "b")
    second = so_far.prediction()
    assert first is not second
    assert first.output is second.output == ["a", "b"]
    assert second.status == PredictionStatus.PROCESSING


def test_other_events_change_nothing() -> None:
    so_far = PredictionSoFar(prediction(status="starting"))
    assert not so_far.take("done", "{}")
    assert not so_far.take("heartbeat", "")
    assert not so_far.changed
    assert so_far.prediction().status == PredictionStatus.STARTING


def test_logs_alone_mean_the_prediction_is_running() -> None:
    so_far = PredictionSoFar(prediction(status="starting"))
    assert so_far.take("logs", "Booting")
    updated = so_far.prediction()
    assert updated.status == PredictionStatus.PROCESSING
    assert updated.output == []
    assert updated.logs == "Booting\n"


@pytest.mark.parametrize("status", ["queued", "warming_up", "booting"])
def test_a_new_status_is_not_final(status: str) -> None:
    assert not is_final(prediction(status=status))


@pytest.mark.parametrize("status", ["completed", "Succeeded", "ERRORED", "timed-out", "done", "cancelled"])
def test_a_final_looking_status_this_sdk_does_not_know_is_an_error(status: str) -> None:
    with pytest.raises(APIResponseError, match="looks final"):
        is_final(prediction(status=status))


@pytest.mark.parametrize("status", [None, 7, {"a": 1}])
def test_a_status_that_is_not_a_string_is_an_error(status: Any) -> None:
    unchecked = prediction()
    unchecked.status = status
    with pytest.raises(APIResponseError, match="not a string"):
        is_final(unchecked)


def test_messages_about_statuses_leave_the_secrets_out() -> None:
    with pytest.raises(APIResponseError) as caught:
        is_final(prediction(status="done", id=f"id-{TOKEN}"), (TOKEN,))
    assert TOKEN not in str(caught.value)
    error = timeout_error(prediction(status=TOKEN), 5.0, canceled=False, secrets=(TOKEN,))
    assert TOKEN not in str(error)


def test_known_statuses_given_as_plain_strings_are_judged_as_known() -> None:
    plain = prediction()
    plain.status = "succeeded"
    assert is_final(plain)
    plain.status = "processing"
    assert not is_final(plain)
