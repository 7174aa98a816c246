"""The pure core of streaming: what events mean, repeats after a resume, when to reconnect."""

from __future__ import annotations

import pytest

from inference_api._streaming import ResumePolicy, StreamState, TextSoFar
from inference_api.errors import PredictionCanceledError, StreamCanceledError, StreamError
from inference_api_client.models import Prediction
from tests.extensions.calls_support import prediction_json


def block(event: str, data: str, event_id: int | None = None, retry: int | None = None) -> bytes:
    lines = []
    if retry is not None:
        lines.append(f"retry: {retry}")
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    lines.extend(f"data: {line}" for line in data.split("\n"))
    return ("\n".join(lines) + "\n\n").encode()


def apply_all(state: StreamState, chunk: bytes) -> list[str]:
    return [piece for event in state.feed(chunk) if (piece := state.apply(event)) is not None]


def test_output_pieces_become_text_and_logs_are_kept_apart() -> None:
    state = StreamState()
    state.start_connection()
    chunk = block("output", "Hello", 1) + block("logs", "step 1\nstep 2", 2) + block("output", ",\nworld ✓", 3)
    assert apply_all(state, chunk) == ["Hello", ",\nworld ✓"]
    assert state.text == "Hello,\nworld ✓"
    assert state.log_lines == ["step 1\nstep 2"]
    assert state.last_event_id == "3"
    assert not state.done


def test_the_text_is_the_pieces_joined_across_blocks_and_reads() -> None:
    text = TextSoFar()
    # Several blocks, a part not yet joined, and wider characters from piece 2048 on.
    pieces = [f"{index}é " if index < 2048 else f"{index}😀 " for index in range(3000)]
    for index, piece in enumerate(pieces):
        text.append(piece)
        if index in (0, 1023, 1024, 2047, 2048, 2500):  # reading in between changes nothing that follows
            assert str(text) == "".join(pieces[: index + 1])
    assert str(text) == str(text) == "".join(pieces)
    assert text.length == len("".join(pieces))
    assert str(TextSoFar()) == ""


def test_a_state_that_keeps_no_text_still_counts_it() -> None:
    state = StreamState(keep_text=False)
    state.start_connection()
    assert apply_all(state, block("output", "Hello", 1) + block("output", " wörld", 2)) == ["Hello", " wörld"]
    assert (state.text, state.text_length) == ("", 11)
    with pytest.raises(StreamError, match="11 characters of text received"):
        raise state.ended_early("cut")


def test_text_with_unicode_line_separators_is_not_cut() -> None:
    # replicate-python's parser cuts text at U+2028; only CR and LF end SSE lines.
    state = StreamState()
    state.start_connection()
    assert apply_all(state, block("output", "a\u2028b\u0085c", 1)) == ["a\u2028b\u0085c"]


def test_done_ends_the_stream() -> None:
    state = StreamState()
    state.start_connection()
    apply_all(state, block("output", "x", 1) + block("done", "{}", 2))
    assert state.done
    assert state.done_data == {}


def test_an_error_event_raises_with_the_text_so_far_and_the_detail() -> None:
    state = StreamState()
    state.start_connection()
    with pytest.raises(StreamError) as caught:
        apply_all(
            state, block("output", "par", 1) + block("output", "tial", 2) + block("error", '{"detail": "boom"}', 3)
        )
    assert caught.value.text == "partial"
    assert caught.value.detail == "boom"
    assert "boom" in str(caught.value)


def test_an_error_event_that_is_not_json_keeps_its_data_as_detail() -> None:
    state = StreamState()
    state.start_connection()
    with pytest.raises(StreamError) as caught:
        apply_all(state, block("error", "plain words", 1))
    assert caught.value.detail == "plain words"


def test_a_canceled_done_raises_stream_canceled_on_a_run_and_prediction_canceled_on_a_prediction() -> None:
    state = StreamState()  # a run's stream: no prediction to carry
    state.start_connection()
    with pytest.raises(StreamCanceledError) as run_caught:
        apply_all(state, block("output", "so far", 1) + block("done", '{"reason": "canceled"}', 2))
    assert state.text == "so far" == run_caught.value.text
    assert state.done
    assert not isinstance(run_caught.value, PredictionCanceledError)

    followed = Prediction.from_dict(prediction_json(status="processing"))
    state = StreamState(prediction=followed)
    state.start_connection()
    with pytest.raises(PredictionCanceledError) as caught:
        apply_all(state, block("done", '{"reason": "canceled"}', 1))
    assert caught.value.prediction is followed


def test_a_done_with_another_reason_raises_stream_error() -> None:
    state = StreamState()
    state.start_connection()
    with pytest.raises(StreamError) as caught:
        apply_all(state, block("output", "so far", 1) + block("done", '{"reason": "failed"}', 2))
    assert caught.value.text == "so far"
    assert caught.value.detail == {"reason": "failed"}


def test_unknown_event_types_are_skipped() -> None:
    state = StreamState()
    state.start_connection()
    assert apply_all(state, block("metrics", '{"tokens": 3}', 1) + block("output", "ok", 2)) == ["ok"]


def test_resuming_drops_events_a_server_sends_again() -> None:
    state = StreamState()
    state.start_connection()
    apply_all(state, block("output", "a", 1) + block("output", "b", 2))
    state.start_connection()  # the server ignores Last-Event-ID and starts over
    replay = block("output", "a", 1) + block("output", "b", 2) + block("output", "c", 3)
    assert apply_all(state, replay) == ["c"]
    assert state.text == "abc"
    assert state.last_event_id == "3"


def test_after_a_resume_events_without_their_own_id_are_new() -> None:
    # An event with no `id` line carries the previous id; it is not a repeat of that event.
    state = StreamState()
    state.start_connection()
    apply_all(state, block("output", "a", 5))
    state.start_connection()
    assert apply_all(state, block("output", "b") + block("output", "c", 6)) == ["b", "c"]


def test_ids_are_not_judged_without_a_resume() -> None:
    state = StreamState()
    state.start_connection()
    assert apply_all(state, block("output", "a", 5) + block("output", "b", 3)) == ["a", "b"]


def test_an_unfinished_event_is_discarded_when_the_connection_drops() -> None:
    state = StreamState()
    state.start_connection()
    apply_all(state, block("output", "a", 1) + b"id: 2\nevent: output\ndata: half")
    state.start_connection()
    assert apply_all(state, block("output", "b", 2)) == ["b"]
    assert state.text == "ab"


def test_retry_is_remembered_even_without_an_event() -> None:
    state = StreamState()
    state.start_connection()
    state.feed(b"retry: 1500\n\n")
    assert state.retry_ms == 1500


def test_a_stream_without_ids_cannot_resume_once_it_has_delivered_events() -> None:
    state = StreamState()
    state.start_connection()
    assert state.can_resume  # nothing received: starting over repeats nothing
    apply_all(state, block("output", "a"))
    assert not state.can_resume
    error = state.ended_early("connection lost")
    assert error.text == "a"
    assert "connection lost" in str(error)


def test_resume_policy_caps_the_servers_retry_and_bounds_attempts() -> None:
    policy = ResumePolicy(max_attempts=3, default_delay=1.0, max_delay=5.0)
    assert policy.delay(None) == 1.0
    assert policy.delay(250) == 0.25
    assert policy.delay(3_600_000) == 5.0
    assert [policy.should_retry(n) for n in (1, 2, 3, 4)] == [True, True, True, False]
    assert not ResumePolicy(max_attempts=0).should_retry(1)


def test_a_server_resuming_at_the_last_event_id_repeats_nothing() -> None:
    state = StreamState()
    state.start_connection()
    assert apply_all(state, block("output", "a", 1) + block("output", "b", 2) + block("output", "c", 3)) == list("abc")
    state.start_connection()  # Last-Event-ID: 3; the server starts *at* 3
    assert apply_all(state, block("output", "c", 3) + block("output", "d", 4) + block("output", "e", 5)) == ["d", "e"]
    assert state.text == "abcde"
    assert state.last_event_id == "5"


def test_a_replay_of_what_we_have_is_no_progress() -> None:
    state = StreamState()
    state.start_connection()
    apply_all(state, block("output", "a", 1))
    state.start_connection()
    assert apply_all(state, block("output", "a", 1)) == []
    assert state.events_this_connection == 0
    assert state.last_event_id == "1"


def test_opaque_ids_are_repeats_when_equal_to_the_one_resumed_from() -> None:
    state = StreamState()
    state.start_connection()
    apply_all(state, block("output", "a", None) + b"id: x7\nevent: output\ndata: b\n\n")
    state.start_connection()
    assert apply_all(state, b"id: x7\nevent: output\ndata: b\n\n" + b"id: y2\nevent: output\ndata: c\n\n") == ["c"]


def test_after_a_resume_an_event_without_an_id_carries_the_one_resumed_from() -> None:
    state = StreamState()
    state.start_connection()
    apply_all(state, block("output", "a", 5))
    state.start_connection()
    (event,) = state.feed(block("output", "b"))
    assert event.id == "5" and state.last_event_id == "5"
    state.start_connection()  # still resumable from 5
    assert state.can_resume and state.last_event_id == "5"


def test_an_event_over_the_size_limit_is_a_stream_error_with_the_text() -> None:
    from inference_api._limits import ResponseLimits

    state = StreamState(limits=ResponseLimits(max_event_size=100))
    state.start_connection()
    apply_all(state, block("output", "a", 1))
    with pytest.raises(StreamError, match="longer than 100 characters") as caught:
        state.feed(b"data: " + b"x" * 200)
    assert caught.value.text == "a"


def test_errors_from_events_leave_the_secrets_out() -> None:
    state = StreamState(secrets=("s3cr3t-token",))
    state.start_connection()
    with pytest.raises(StreamError) as caught:
        apply_all(state, block("error", '{"detail": "bad s3cr3t-token"}', 1))
    assert "s3cr3t-token" not in str(caught.value) and "s3cr3t-token" not in str(caught.value.detail)
    with pytest.raises(StreamError) as done:
        apply_all(state, block("done", '{"reason": "s3cr3t-token"}', 2))
    assert "s3cr3t-token" not in str(done.value)
