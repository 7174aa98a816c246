"""The pure retry policy: which failures are retried, how long it waits, when it gives up."""

from __future__ import annotations

import datetime
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inference_api._retry import Decision, Failure, RetryPolicy, parse_retry_after

NOW = datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=datetime.UTC)
POLICY = RetryPolicy(max_attempts=4, backoff_base=0.5, backoff_cap=8.0, max_retry_after=60.0)


def decide(
    *,
    idempotent: bool,
    failure: Failure,
    status_code: int | None = None,
    attempt: int = 1,
    retry_after: float | None = None,
    policy: RetryPolicy = POLICY,
) -> Decision:
    return policy.decide(
        attempt=attempt,
        idempotent=idempotent,
        failure=failure,
        status_code=status_code,
        retry_after=retry_after,
        rand=0.5,
    )


@pytest.mark.parametrize("failure", [Failure.NOT_SENT, Failure.CONNECTION, Failure.TIMEOUT])
def test_get_and_cancel_retry_every_transport_failure(failure: Failure) -> None:
    assert decide(idempotent=True, failure=failure).retry


@pytest.mark.parametrize("status_code", [429, 502, 503, 504])
def test_get_and_cancel_retry_busy_statuses(status_code: int) -> None:
    assert decide(idempotent=True, failure=Failure.STATUS, status_code=status_code).retry


@pytest.mark.parametrize("status_code", [400, 401, 403, 404, 409, 413, 422, 500, 501, 520])
def test_other_statuses_are_not_retried(status_code: int) -> None:
    for idempotent in (True, False):
        decision = decide(idempotent=idempotent, failure=Failure.STATUS, status_code=status_code)
        assert decision == Decision(False)


def test_create_and_run_retry_only_what_never_reached_the_server_and_429() -> None:
    assert decide(idempotent=False, failure=Failure.NOT_SENT).retry
    assert decide(idempotent=False, failure=Failure.STATUS, status_code=429).retry
    for status_code in (502, 503, 504):
        assert not decide(idempotent=False, failure=Failure.STATUS, status_code=status_code).retry


@pytest.mark.parametrize("failure", [Failure.CONNECTION, Failure.TIMEOUT])
def test_create_and_run_never_retry_once_the_server_may_have_the_request(failure: Failure) -> None:
    decision = decide(idempotent=False, failure=failure)
    assert not decision.retry
    assert "may have received the request" in decision.reason


def test_full_jitter_backoff_grows_exponentially_up_to_the_cap() -> None:
    ceilings = [POLICY.backoff(retry, rand=1.0) for retry in range(1, 9)]
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0]
    assert POLICY.backoff(3, rand=0.0) == 0.0
    assert POLICY.backoff(3, rand=0.25) == 0.5
    # The jitter is the whole range: the delay is the random number times the ceiling.
    assert decide(idempotent=True, failure=Failure.CONNECTION, attempt=2).delay == 0.5 * 1.0


def test_gives_up_after_max_attempts_and_says_so() -> None:
    assert decide(idempotent=True, failure=Failure.TIMEOUT, attempt=3).retry
    decision = decide(idempotent=True, failure=Failure.TIMEOUT, attempt=4)
    assert not decision.retry
    assert decision.reason == "gave up"  # the error adds "(after 4 attempts)"


def test_disabled_policy_makes_one_attempt() -> None:
    disabled = RetryPolicy.disabled()
    assert disabled.max_attempts == 1
    assert decide(idempotent=True, failure=Failure.NOT_SENT, policy=disabled) == Decision(False)


def test_retry_after_replaces_the_backoff() -> None:
    decision = decide(idempotent=True, failure=Failure.STATUS, status_code=503, retry_after=7.0)
    assert decision == Decision(True, delay=7.0)
    decision = decide(idempotent=False, failure=Failure.STATUS, status_code=429, retry_after=0.0)
    assert decision == Decision(True, delay=0.0)


def test_retry_after_above_the_cap_gives_up_and_says_what_the_server_asked() -> None:
    decision = decide(idempotent=True, failure=Failure.STATUS, status_code=429, retry_after=600.0)
    assert not decision.retry
    assert decision.reason == "the server asked to retry after 600 s, more than max_retry_after=60 s"


def test_invalid_policies_are_refused() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="backoff_base"):
        RetryPolicy(backoff_base=-1)


@given(
    attempt=st.integers(1, 50),
    rand=st.floats(0, 1, exclude_max=True),
    failure=st.sampled_from(Failure),
    status_code=st.sampled_from([None, 429, 500, 502, 503, 504, 520]),
    idempotent=st.booleans(),
    retry_after=st.one_of(st.none(), st.floats(0, 1e6)),
)
def test_decisions_stay_within_bounds(
    attempt: int, rand: float, failure: Failure, status_code: int | None, idempotent: bool, retry_after: float | None
) -> None:
    decision = POLICY.decide(
        attempt=attempt,
        idempotent=idempotent,
        failure=failure,
        status_code=status_code,
        retry_after=retry_after,
        rand=rand,
    )
    if decision.retry:
        assert attempt < POLICY.max_attempts
        assert 0 <= decision.delay <= max(POLICY.backoff_cap, POLICY.max_retry_after)
        if retry_after is None:
            assert decision.delay <= POLICY.backoff_cap
        if not idempotent:
            assert failure is Failure.NOT_SENT or status_code == 429


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("0", 0.0),
        ("1.5", 1.5),
        (format_datetime(NOW + datetime.timedelta(seconds=90), usegmt=True), 90.0),
        ("Wed, 01 May 2024 12:00:30 -0000", 30.0),  # parses naive: taken as GMT
        (format_datetime(NOW - datetime.timedelta(hours=1), usegmt=True), 0.0),
        (None, None),
        ("", None),
        ("-5", None),
        ("inf", None),
        ("nan", None),
        ("soon", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected
