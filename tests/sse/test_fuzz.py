"""Random streams, chunked at random offsets, decode as a plain line-by-line reading of the spec does.

Each property runs on the SDK's decoder and on the generated client's (templates/package/sse.py.jinja),
two copies of one algorithm; the last test checks that they agree on every stream, limits included.
"""

from __future__ import annotations

import codecs
import itertools
import re
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import inference_api.sse
import inference_api_client.sse

Event = tuple[str, str, str, int | None]
DECODERS = [inference_api.sse, inference_api_client.sse]
each_decoder = pytest.mark.parametrize("sse", DECODERS, ids=["sdk", "generated"])


def reference_decode(stream: bytes) -> tuple[list[Event], str, int | None]:
    """The spec's steps, one by one, on the whole stream: events, last event ID, reconnection time."""
    text = stream.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = re.split(r"\r\n|\r|\n", text)
    lines.pop()  # No line end after it: the end of the stream discards it.
    events: list[Event] = []
    data = event_type = id_buffer = last_event_id = ""
    retry: int | None = None
    block_retry: int | None = None
    for line in lines:
        if line == "":
            last_event_id = id_buffer
            if data != "":
                events.append((event_type or "message", data.removesuffix("\n"), last_event_id, block_retry))
            data = event_type = ""
            block_retry = None
            continue
        if line.startswith(":"):
            continue
        if ":" in line:
            field, value = line.split(":", 1)
            value = value.removeprefix(" ")
        else:
            field, value = line, ""
        if field == "event":
            event_type = value
        elif field == "data":
            data += value + "\n"
        elif field == "id":
            if "\x00" not in value:
                id_buffer = value
        elif field == "retry" and value != "" and all(char in "0123456789" for char in value):
            retry = block_retry = int(value)
    return events, last_event_id, retry


def reference_exceeds(stream: bytes, max_size: int) -> bool:
    """Whether a line (finished or not) or an event's data (each line after its first counting 64
    more) is ever longer than `max_size` characters. Bytes of an unfinished character at the very
    end are never decoded, so they count nothing."""
    text = codecs.utf_8_decode(stream, "replace", False)[0]
    if text.startswith("\ufeff"):
        text = text[1:]
    *lines, unfinished = re.split(r"\r\n|\r|\n", text)
    if len(unfinished) > max_size:  # Only measured: the end of the stream discards it.
        return True
    data_size: int | None = None  # None: no data line in this event yet
    for line in lines:
        if len(line) > max_size:
            return True
        if line == "":
            data_size = None
        elif line.partition(":")[0] == "data":
            value = line.partition(":")[2].removeprefix(" ")
            data_size = len(value) if data_size is None else data_size + len(value) + 64
            if data_size > max_size:
                return True
    return False


def decode_in_chunks(
    sse: ModuleType, stream: bytes, offsets: list[int], max_size: int | None = None
) -> tuple[list[Event], str, int | None]:
    decoder = sse.SSEDecoder(max_size=max_size)
    events: list[Event] = []
    bounds = [0, *sorted(offsets), len(stream)]
    for start, end in itertools.pairwise(bounds):
        events.extend(decoder.feed(stream[start:end]))
    state = (events, decoder.last_event_id, decoder.retry)
    decoder.close()  # The end of the stream changes nothing already decided.
    assert (decoder.last_event_id, decoder.retry) == state[1:]
    return state


# Lines built from the pieces the rules care about, so most examples exercise real fields.
field_names = st.sampled_from(["data", "event", "id", "retry", "", "Data", "dat", "data ", " id", "foo", "\ufeffdata"])
separators = st.sampled_from([":", ": ", ":  ", "", "::"])
value_text = st.text(
    alphabet=st.sampled_from(list("ab: 019-+._\x00\ufeff\u2028\u2029\x0b\x0c\x1c\x85\u00e9\U0001f600\u0661")),
    max_size=6,
)
# Digit strings for `retry`, with digits that are not ASCII: Arabic-Indic one, superscript two.
digit_text = st.text(alphabet=st.sampled_from(list("0123456789\u0661\u00b2")), min_size=1, max_size=4)
line_ends = st.sampled_from(["\n", "\r", "\r\n"])
lines = st.one_of(
    st.tuples(field_names, separators, st.one_of(value_text, digit_text), line_ends).map("".join),
    line_ends,  # blank lines dispatch
)
structured_streams = st.tuples(
    st.sampled_from(["", "\ufeff", "\ufeff\ufeff"]),
    st.lists(lines, max_size=25),
    st.sampled_from(["", "data: unfinished", "data: x\n", "\r"]),
).map(lambda parts: (parts[0] + "".join(parts[1]) + parts[2]).encode())
# Raw bytes too: invalid UTF-8, stray CRs, truncated characters.
streams = st.one_of(
    structured_streams,
    st.binary(max_size=200),
    st.tuples(structured_streams, st.binary(max_size=8), structured_streams).map(b"".join),
)


@st.composite
def chunked_streams(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    stream = draw(streams)
    offsets = draw(st.lists(st.integers(0, len(stream)), max_size=12))
    return stream, offsets


@each_decoder
@settings(max_examples=600, deadline=None)
@given(chunked_streams())
def test_random_chunking_decodes_as_the_reference(sse: ModuleType, chunked: tuple[bytes, list[int]]) -> None:
    stream, offsets = chunked
    assert decode_in_chunks(sse, stream, offsets) == reference_decode(stream)


@each_decoder
@settings(max_examples=200, deadline=None)
@given(structured_streams)
def test_chunking_never_changes_the_events(sse: ModuleType, stream: bytes) -> None:
    whole = decode_in_chunks(sse, stream, [])
    assert decode_in_chunks(sse, stream, list(range(len(stream)))) == whole
    assert decode_in_chunks(sse, stream, list(range(0, len(stream), 3))) == whole


@each_decoder
@settings(max_examples=600, deadline=None)
@given(chunked_streams(), st.one_of(st.integers(1, 12), st.integers(13, 150)))  # short lines: small limits
def test_the_size_limit_holds_exactly_however_the_stream_is_chunked(
    sse: ModuleType, chunked: tuple[bytes, list[int]], max_size: int
) -> None:
    # The decoder counts only what spans chunks and measures lines only in chunks longer than the
    # limit; this checks that what it skips could never have gone over.
    stream, offsets = chunked
    if reference_exceeds(stream, max_size):
        with pytest.raises(sse.EventTooLarge):
            decode_in_chunks(sse, stream, offsets, max_size)
    else:
        assert decode_in_chunks(sse, stream, offsets, max_size) == reference_decode(stream)


def feed_each(sse: ModuleType, chunks: list[bytes], max_size: int | None) -> list[object]:
    """What each feed returns and the state after it, chunk by chunk, up to the first error."""
    decoder = sse.SSEDecoder(max_size=max_size)
    results: list[object] = []
    for chunk in chunks:
        try:
            results.append(decoder.feed(chunk))
        except sse.EventTooLarge as error:
            assert error.max_size == max_size
            results.append("EventTooLarge")
            break
        results.append((decoder.last_event_id, decoder.retry))
    return results


@settings(max_examples=400, deadline=None)
@given(chunked_streams(), st.one_of(st.none(), st.integers(1, 12), st.integers(13, 150)))
def test_the_sdk_and_generated_decoders_agree_chunk_by_chunk(
    chunked: tuple[bytes, list[int]], max_size: int | None
) -> None:
    stream, offsets = chunked
    bounds = [0, *sorted(offsets), len(stream)]
    chunks = [stream[start:end] for start, end in itertools.pairwise(bounds)]
    assert feed_each(inference_api_client.sse, chunks, max_size) == feed_each(inference_api.sse, chunks, max_size)
