"""Conformance cases for an event-stream decoder, each written from one rule of the WHATWG text.

HTML Standard, server-sent events, "Interpreting an event stream". Each case is a byte stream in
chunks and the events it must dispatch, as (event type, data, last event ID, retry) where retry is
the reconnection time set by a valid `retry` field in that event's block, else None. Shared by
tests/sse/test_conformance.py and benchmarks/sse_conformance.py (which scores peers on them).
"""

from __future__ import annotations

from typing import NamedTuple

Event = tuple[str, str, str, int | None]


class Case(NamedTuple):
    name: str
    rule: str
    chunks: tuple[bytes, ...]
    expected: tuple[Event, ...]


def message(data: str, id: str = "", retry: int | None = None, event: str = "message") -> Event:
    return (event, data, id, retry)


def case(name: str, rule: str, stream: bytes | tuple[bytes, ...], *expected: Event) -> Case:
    chunks = stream if isinstance(stream, tuple) else (stream,)
    return Case(name, rule, chunks, expected)


CASES: tuple[Case, ...] = (
    # Fields and values.
    case("data_line", "data: append the field value to the data buffer", b"data: hello\n\n", message("hello")),
    case(
        "data_without_space",
        "the value is the characters after the first colon",
        b"data:hello\n\n",
        message("hello"),
    ),
    case(
        "only_one_leading_space_removed",
        "if value starts with a U+0020 SPACE character, remove it from value",
        b"data:  hello\n\n",
        message(" hello"),
    ),
    case("trailing_spaces_kept", "nothing else is trimmed", b"data: hello  \n\n", message("hello  ")),
    case(
        "data_lines_joined_with_lf",
        "append the value, then a single U+000A LINE FEED, to the data buffer",
        b"data: a\ndata: b\n\n",
        message("a\nb"),
    ),
    case(
        "data_alone_is_empty_data",
        "a line without colon: the whole line is the field name, the value is the empty string",
        b"data\n\n",
        message(""),
    ),
    case("empty_data_dispatched", "the data buffer holds one LF, so it is not empty", b"data:\n\n", message("")),
    case(
        "two_empty_data_lines",
        "only the last LF of the data buffer is removed",
        b"data\ndata\n\n",
        message("\n"),
    ),
    case("value_keeps_later_colons", "split at the first colon only", b"data: a:b: c\n\n", message("a:b: c")),
    case("colon_right_after_colon", "the value starts after the first colon", b"data:: x\n\n", message(": x")),
    case("nul_in_data_kept", "data is taken as is", b"data: a\x00b\n\n", message("a\x00b")),
    case(
        "field_name_is_case_sensitive",
        "field names must be compared literally",
        b"Data: x\n\n",
    ),
    case("space_before_colon_is_another_field", "the field name is all before the colon", b"data : x\n\n"),
    case("leading_space_is_another_field", "the field name is all before the colon", b" data: x\n\n"),
    case(
        "unknown_field_ignored",
        "otherwise, the field is ignored",
        b"foo: bar\nfoo\ndata: x\n\n",
        message("x"),
    ),
    # Event type.
    case("event_type", "event: set the event type buffer", b"event: add\ndata: x\n\n", message("x", event="add")),
    case(
        "empty_event_type_is_message",
        "if the event type buffer is not empty, use it; otherwise message",
        b"event:\ndata: x\n\n",
        message("x"),
    ),
    case(
        "event_type_reset_after_dispatch",
        "set the data buffer and the event type buffer to the empty string",
        b"event: add\ndata: 1\n\ndata: 2\n\n",
        message("1", event="add"),
        message("2"),
    ),
    case(
        "event_without_data_not_dispatched",
        "if the data buffer is an empty string ... return",
        b"event: add\n\n",
    ),
    case(
        "event_type_reset_when_nothing_dispatched",
        "the empty data buffer still resets the event type buffer",
        b"event: add\n\ndata: x\n\n",
        message("x"),
    ),
    # Last event ID.
    case("id_sets_last_event_id", "id: set the last event ID buffer", b"id: 1\ndata: x\n\n", message("x", id="1")),
    case(
        "id_carried_over",
        "the buffer does not get reset",
        b"id: 1\ndata: a\n\ndata: b\n\n",
        message("a", id="1"),
        message("b", id="1"),
    ),
    case(
        "id_with_nul_ignored",
        "if the field value does not contain U+0000 NULL ... otherwise, ignore the field",
        b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
        message("a", id="1"),
        message("b", id="1"),
    ),
    case(
        "empty_id_resets",
        "an empty value is still a value",
        b"id: 1\ndata: a\n\nid\ndata: b\n\n",
        message("a", id="1"),
        message("b"),
    ),
    case("id_only_block_not_dispatched", "no data, no event", b"id: 7\n\n"),
    case(
        "id_from_block_without_data_carried",
        "the last event ID is set before the empty data check",
        b"id: 7\n\ndata: x\n\n",
        message("x", id="7"),
    ),
    # Reconnection time.
    case(
        "retry_digits",
        "retry: only ASCII digits, interpreted in base ten",
        b"retry: 1000\ndata: x\n\n",
        message("x", retry=1000),
    ),
    case("retry_leading_zeros", "base ten", b"retry: 0010\ndata: x\n\n", message("x", retry=10)),
    case("retry_letters_ignored", "otherwise, ignore the field", b"retry: 1a\ndata: x\n\n", message("x")),
    case("retry_space_ignored", "a second space is not a digit", b"retry:  1\ndata: x\n\n", message("x")),
    case("retry_negative_ignored", "a minus sign is not a digit", b"retry: -1\ndata: x\n\n", message("x")),
    case("retry_plus_ignored", "a plus sign is not a digit", b"retry: +1\ndata: x\n\n", message("x")),
    case("retry_decimal_ignored", "a dot is not a digit", b"retry: 1.5\ndata: x\n\n", message("x")),
    case("retry_underscore_ignored", "an underscore is not a digit", b"retry: 1_000\ndata: x\n\n", message("x")),
    case("retry_empty_ignored", "the empty value has no digits", b"retry:\ndata: x\n\n", message("x")),
    case(
        "retry_non_ascii_digits_ignored",
        "ASCII digits only",
        "retry: \u0661\u0662\ndata: x\n\n".encode(),
        message("x"),
    ),
    case("retry_only_block_not_dispatched", "no data, no event", b"retry: 10\n\n"),
    case(
        "retry_belongs_to_its_block",
        "the next event did not set it",
        b"retry: 5\ndata: a\n\ndata: b\n\n",
        message("a", retry=5),
        message("b"),
    ),
    # Comments and empty streams.
    case("comment_ignored", "a line starting with a colon is ignored", b": hi\ndata: x\n\n", message("x")),
    case("comments_only", "comments dispatch nothing", b": a\n:\n: b\n\n"),
    case("blank_lines_only", "an empty data buffer dispatches nothing", b"\n\n\n\n"),
    # Byte order mark.
    case("bom_stripped", "one leading U+FEFF BYTE ORDER MARK is ignored", b"\xef\xbb\xbfdata: x\n\n", message("x")),
    case(
        "second_bom_kept",
        "only one BOM is stripped: the second one starts the field name",
        b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: y\n\n",
        message("y"),
    ),
    case(
        "bom_later_in_stream_kept",
        "the BOM is stripped at the start of the stream only",
        b"data: x\n\n\xef\xbb\xbfdata: y\n\n",
        message("x"),
    ),
    case(
        "bom_split_across_chunks",
        "the stream is decoded before the BOM is looked for",
        (b"\xef", b"\xbb", b"\xbfdata: x\n\n"),
        message("x"),
    ),
    # Line ends.
    case("crlf_lines", "end of line: CRLF", b"data: a\r\ndata: b\r\n\r\n", message("a\nb")),
    case("cr_lines", "end of line: a lone CR", b"data: a\rdata: b\r\r", message("a\nb")),
    case(
        "mixed_line_ends",
        "CRLF, LF and CR may be mixed",
        b"data: a\r\ndata: b\rdata: c\n\r\ndata: d\n\r",
        message("a\nb\nc"),
        message("d"),
    ),
    case(
        "crlf_split_across_chunks",
        "a CR at a chunk end and an LF at the next chunk start are one line end",
        (b"data: a\r", b"\ndata: b\r\n\r\n"),
        message("a\nb"),
    ),
    case(
        "cr_cr_is_a_blank_line",
        "two CRs are two line ends even across chunks",
        (b"data: a\r", b"\rdata: b\r\r"),
        message("a"),
        message("b"),
    ),
    case(
        "unicode_line_separators_are_data",
        "only CR and LF end lines (not U+2028, U+2029, VT, FF, FS, GS, RS, NEL)",
        "data: a\u2028b\u2029c\x0bd\x0ce\x1cf\x1dg\x1eh\x85i\n\n".encode(),
        message("a\u2028b\u2029c\x0bd\x0ce\x1cf\x1dg\x1eh\x85i"),
    ),
    # Decoding.
    case(
        "utf8_split_across_chunks",
        "the stream is UTF-8 decoded as a whole",
        (b"data: caf\xc3", b"\xa9 \xf0\x9f", b"\x98\x80\n\n"),
        message("caf\u00e9 \U0001f600"),
    ),
    case(
        "invalid_utf8_replaced",
        "UTF-8 decode replaces each invalid sequence with U+FFFD",
        b"data: a\xffb\xed\xa0\x80c\xf0\x9f\x98\n\n",
        message("a\ufffdb\ufffd\ufffd\ufffdc\ufffd"),
    ),
    # End of stream.
    case(
        "unfinished_event_discarded",
        "if the file ends in the middle of an event, the incomplete event is not dispatched",
        b"data: a\n\ndata: b\n",
        message("a"),
    ),
    case(
        "unfinished_line_discarded",
        "once the end of the file is reached, any pending data must be discarded",
        b"data: a\n\ndata: b",
        message("a"),
    ),
    # The API's own event shape (`id`, `event: output`), where the cases above meet real output.
    case(
        "output_text_with_line_separator",
        "U+2028 in generated text is data, not a line end",
        "id: 1\nevent: output\ndata: one\u2028two\n\n".encode(),
        message("one\u2028two", id="1", event="output"),
    ),
    case(
        "output_text_with_line_breaks",
        "text with line breaks travels as several data lines",
        b"id: 1\nevent: output\ndata: line one\ndata:\ndata: line three\n\n",
        message("line one\n\nline three", id="1", event="output"),
    ),
    case(
        "output_events_over_crlf_split",
        "CRLF line ends split across chunks",
        (b"id: 1\r\nevent: output\r", b"\ndata: a\r\n\r", b"\nid: 2\r\nevent: output\r\ndata: b\r\n\r\n"),
        message("a", id="1", event="output"),
        message("b", id="2", event="output"),
    ),
    case(
        "output_event_after_bom",
        "a BOM before the first field",
        b"\xef\xbb\xbfid: 1\nevent: output\ndata: a\n\n",
        message("a", id="1", event="output"),
    ),
    case(
        "output_event_with_invalid_retry",
        "retry values that are not all ASCII digits are ignored",
        b"retry: -1\nid: 1\nevent: output\ndata: a\n\n",
        message("a", id="1", event="output"),
    ),
    case(
        "byte_by_byte",
        "the result does not depend on how the stream is chunked",
        tuple(bytes([byte]) for byte in "\ufeffid: 1\r\nevent: add\r\ndata: caf\u00e9\r\n\r\ndata: 2\r\r".encode()),
        message("caf\u00e9", id="1", event="add"),
        message("2", id="1"),
    ),
)
