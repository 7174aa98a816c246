"""The decoder's state for reconnection, its stream lifecycle, and the sync and async drivers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from inference_api.sse import ServerSentEvent, SSEDecoder, aiter_events, iter_events


def feed_all(decoder: SSEDecoder, *chunks: bytes) -> list[ServerSentEvent]:
    return [event for chunk in chunks for event in decoder.feed(chunk)]


def test_event_fields_and_defaults() -> None:
    event = ServerSentEvent()
    assert (event.event, event.data, event.id, event.retry) == ("message", "", "", None)
    decoded = SSEDecoder().feed(b'event: done\nid: 9\nretry: 20\ndata: {"reason":\ndata: "canceled"}\n\n')
    assert decoded == [ServerSentEvent("done", '{"reason":\n"canceled"}', "9", 20)]
    assert decoded[0].json() == {"reason": "canceled"}


def test_feed_returns_only_the_events_each_chunk_completes() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"") == []
    assert decoder.feed(b"data: a\n") == []
    assert decoder.feed(b"\ndata: b\n\nda") == [ServerSentEvent(data="a"), ServerSentEvent(data="b")]
    assert decoder.feed(b"ta: c\n\n") == [ServerSentEvent(data="c")]


def test_last_event_id_is_committed_at_a_blank_line_without_data() -> None:
    # Dispatch step 1 sets the last event ID string before step 2 returns on empty data.
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 7\n\n") == []
    assert decoder.last_event_id == "7"


def test_last_event_id_is_not_committed_by_an_unfinished_event() -> None:
    # Resuming from an event that was never dispatched would skip it.
    decoder = SSEDecoder()
    assert feed_all(decoder, b"id: 1\ndata: a\n\n", b"id: 2\ndata: b\n") == [ServerSentEvent(data="a", id="1")]
    assert decoder.last_event_id == "1"
    decoder.close()
    assert decoder.last_event_id == "1"


def test_retry_is_kept_by_the_decoder_when_no_event_carries_it() -> None:
    decoder = SSEDecoder()
    assert decoder.retry is None
    assert decoder.feed(b"retry: 3000\n\n") == []
    assert decoder.retry == 3000
    # The reconnection time is set when the field is processed, not at dispatch.
    decoder.feed(b"retry: 500\ndata: x\n")
    assert decoder.retry == 500


def test_invalid_retry_keeps_the_previous_reconnection_time() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"retry: 250\n\nretry: -1\nretry: 1a\nretry:\n\n")
    assert decoder.retry == 250


def test_retry_longer_than_int_accepts_saturates_instead_of_failing() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b"retry: " + b"9" * 10_000 + b"\ndata: x\n\n")
    assert decoder.retry is not None
    assert decoder.retry > 10**4000
    assert events[0].retry == decoder.retry
    decoder.feed(b"retry: " + b"0" * 10_000 + b"42\n\n")
    assert decoder.retry == 42


def test_seeded_last_event_id_is_carried_into_events() -> None:
    assert SSEDecoder(last_event_id="41").feed(b"data: x\n\n") == [ServerSentEvent(data="x", id="41")]


def test_close_discards_the_unfinished_event_and_line() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"event: add\ndata: a\ndata: unfinished")
    decoder.close()
    assert decoder.feed(b"data: b\n\n") == [ServerSentEvent(data="b")]


def test_close_starts_a_new_stream_that_keeps_the_last_event_id() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"id: 5\ndata: a\n\nid: 6\ndata: b")
    decoder.close()
    # A reconnection's stream may start with its own BOM; events carry the committed ID "5".
    assert decoder.feed(b"\xef\xbb\xbfdata: c\n\n") == [ServerSentEvent(data="c", id="5")]


def test_a_long_line_in_many_small_chunks() -> None:
    payload = "x\u00e9" * 50_000
    stream = f"data: {payload}\n\n".encode()
    decoder = SSEDecoder()
    events = feed_all(decoder, *(stream[i : i + 7] for i in range(0, len(stream), 7)))
    assert events == [ServerSentEvent(data=payload)]


def test_many_data_lines_in_many_chunks() -> None:
    lines = [f"line {i}" for i in range(20_000)]
    decoder = SSEDecoder()
    events = feed_all(decoder, *(f"data: {line}\n".encode() for line in lines), b"\n", b"data: next\n\n")
    assert events == [ServerSentEvent(data="\n".join(lines)), ServerSentEvent(data="next")]


def test_many_events_in_one_chunk_each_with_its_id() -> None:
    stream = b"".join(b"id: %d\nevent: output\ndata: w%d\n\n" % (i, i) for i in range(100))
    expected = [ServerSentEvent("output", f"w{i}", str(i), None) for i in range(100)]
    assert SSEDecoder().feed(stream) == expected


def test_iter_events_leaves_reconnection_state_on_the_decoder() -> None:
    def dropped_connection() -> Iterator[bytes]:
        yield b"retry: 100\nid: 1\ndata: a\n\n"
        yield b"id: 2\ndata: b"
        raise ConnectionError("dropped")

    decoder = SSEDecoder()
    received: list[ServerSentEvent] = []
    with pytest.raises(ConnectionError):
        received.extend(iter_events(dropped_connection(), decoder=decoder))
    assert received == [ServerSentEvent(data="a", id="1", retry=100)]
    assert (decoder.last_event_id, decoder.retry) == ("1", 100)
    # The reconnected stream starts clean: the half-received event 2 is gone.
    assert list(iter_events([b"data: c\n\n"], decoder=decoder)) == [ServerSentEvent(data="c", id="1")]


def test_an_abandoned_stream_closed_late_leaves_the_next_stream_alone() -> None:
    decoder = SSEDecoder()
    first = iter_events(iter([b"data: a\n\n", b"data: never read\n\n"]), decoder=decoder)
    assert next(first) == ServerSentEvent(data="a")
    second = iter_events(iter([b"data: b\n\ndata: half", b" and half\n\n"]), decoder=decoder)
    assert next(second) == ServerSentEvent(data="b")
    first.close()  # The garbage collector may do this at any time.
    assert list(second) == [ServerSentEvent(data="half and half")]


def test_iter_events_is_lazy() -> None:
    pulled: list[bytes] = []

    def chunks() -> Iterator[bytes]:
        for chunk in (b"data: a\n\n", b"data: b\n\n"):
            pulled.append(chunk)
            yield chunk

    events = iter_events(chunks())
    assert next(events) == ServerSentEvent(data="a")
    assert pulled == [b"data: a\n\n"]


async def chunks_of(stream: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(stream), size):
        yield stream[i : i + size]


@pytest.mark.anyio
async def test_aiter_events_matches_iter_events() -> None:
    stream = "\ufeffid: 1\r\nevent: output\r\ndata: caf\u00e9\r\n\r\n: ping\n\ndata: a\rdata: b\r\rdata: cut".encode()
    expected = [ServerSentEvent("output", "caf\u00e9", "1", None), ServerSentEvent(data="a\nb", id="1")]
    for size in (1, 2, 3, 5, len(stream)):
        assert [event async for event in aiter_events(chunks_of(stream, size))] == expected
        assert list(iter_events(stream[i : i + size] for i in range(0, len(stream), size))) == expected


@pytest.mark.anyio
async def test_aiter_events_leaves_reconnection_state_on_the_decoder() -> None:
    async def dropped_connection() -> AsyncIterator[bytes]:
        yield b"retry: 100\nid: 1\ndata: a\n\nid: 2\n"
        raise ConnectionError("dropped")

    decoder = SSEDecoder()
    received: list[ServerSentEvent] = []
    with pytest.raises(ConnectionError):
        async for event in aiter_events(dropped_connection(), decoder=decoder):
            received.append(event)
    assert received == [ServerSentEvent(data="a", id="1", retry=100)]
    assert (decoder.last_event_id, decoder.retry) == ("1", 100)
    # The next stream read with this decoder starts clean and keeps the ID.
    assert [event async for event in aiter_events(chunks_of(b"data: c\n\n", 3), decoder=decoder)] == [
        ServerSentEvent(data="c", id="1")
    ]


def test_chunks_without_text_keep_what_the_next_chunk_needs() -> None:
    # Empty chunks between a CR and its LF: the LF still completes the CRLF, no blank line.
    for empty_chunks in ([b""], [b"", b""]):
        decoder = SSEDecoder()
        assert feed_all(decoder, b"data: a\r", *empty_chunks, b"\n") == []
        assert feed_all(decoder, b"\n") == [ServerSentEvent(data="a")]
    # The stream's BOM, in pieces among empty chunks, is still dropped (else "\ufeffdata" is no field).
    assert feed_all(SSEDecoder(), b"", b"\xef\xbb", b"", b"\xbfdata: b\n\n") == [ServerSentEvent(data="b")]


def test_a_line_longer_than_the_limit_raises_across_chunks_and_within_one() -> None:
    from inference_api.sse import EventTooLarge

    decoder = SSEDecoder(max_size=10)
    decoder.feed(b"data: 1234")
    with pytest.raises(EventTooLarge, match="longer than 10 characters"):
        decoder.feed(b"5")
    with pytest.raises(EventTooLarge):
        SSEDecoder(max_size=10).feed(b"data: 1\n\ndata: 12345678901")
    assert SSEDecoder(max_size=10).feed(b"data: 1234\n\n") == [ServerSentEvent(data="1234")]


def test_an_event_of_many_short_lines_counts_each_line() -> None:
    from inference_api.sse import EventTooLarge

    decoder = SSEDecoder(max_size=1000)
    with pytest.raises(EventTooLarge):
        for _ in range(100):  # 100 lines of one character: each kept line costs 64 more
            decoder.feed(b"data: x\n")
    many = SSEDecoder(max_size=1000).feed(b"data: x\n" * 10 + b"\n")
    assert many == [ServerSentEvent(data="\n".join("x" * 10))]


def test_the_default_limit_is_16_mib_and_none_lifts_it() -> None:
    from inference_api.sse import DEFAULT_MAX_EVENT_SIZE

    assert DEFAULT_MAX_EVENT_SIZE == 16 * 1024 * 1024
    unlimited = SSEDecoder(max_size=None)
    assert (
        unlimited.feed(b"data: " + b"x" * (DEFAULT_MAX_EVENT_SIZE + 1) + b"\n\n")[0].data.count("x")
        > DEFAULT_MAX_EVENT_SIZE
    )
