"""The pure guards: bounded JSON, redaction of errors and their chains, redacted output."""

from __future__ import annotations

import io
import json
import traceback

import pytest

from inference_api._limits import JSONTooDeep, loads
from inference_api._security import _RedactingWriter, scrub
from inference_api.errors import APIConnectionError, StreamError

SECRET = "tok-UNIT-8c2f"


@pytest.mark.parametrize("depth", [129, 500, 100_000])
def test_json_deeper_than_the_limit_is_refused_however_deep(depth: int) -> None:
    with pytest.raises(JSONTooDeep, match="deeper than 128 levels"):
        loads(b"[" * depth + b"]" * depth, 128)
    with pytest.raises(JSONTooDeep):
        loads('{"a": ' * depth + "1" + "}" * depth, 128)


def test_json_within_the_limit_and_brackets_inside_strings_are_fine() -> None:
    assert loads(b"[" * 128 + b"]" * 128, 128) == json.loads(b"[" * 128 + b"]" * 128)
    assert loads(json.dumps({"text": "[[[[{{{{" * 1000}), 2) == {"text": "[[[[{{{{" * 1000}


def test_scrub_redacts_the_error_and_the_causes_that_quote_the_secret() -> None:
    try:
        try:
            raise ValueError(f"illegal chunk header: {SECRET}")
        except ValueError as inner:
            raise APIConnectionError(f"connection failed: {SECRET}", detail={"x": [SECRET]}) from inner
    except APIConnectionError as caught:
        error = scrub(caught, (SECRET,))
    shown = "".join(traceback.format_exception(error)) + repr(error) + str(error.detail)
    assert SECRET not in shown
    assert "[REDACTED]" in str(error)
    assert str(error.__cause__) == "illegal chunk header: [REDACTED]"


def test_scrub_cuts_a_cause_it_cannot_redact() -> None:
    class Quoting(Exception):
        def __str__(self) -> str:
            return f"bad line {SECRET}"

    error = APIConnectionError("connection failed")
    error.__cause__ = Quoting()
    assert scrub(error, (SECRET,)).__cause__ is None


def test_scrub_keeps_causes_that_are_clean() -> None:
    cause = OSError("connection reset")
    error = StreamError("the stream ended", text="abc")
    error.__cause__ = cause
    assert scrub(error, (SECRET,)).__cause__ is cause


def test_the_redacting_writer_catches_a_secret_split_across_writes() -> None:
    out = io.StringIO()
    writer = _RedactingWriter(out, (SECRET,))
    for piece in ["hello ", SECRET[:4], SECRET[4:9], SECRET[9:], " bye", " to"]:
        writer.write(piece)
        writer.flush()
    writer.release()
    assert out.getvalue() == "hello [REDACTED] bye to"


def test_the_redacting_writer_holds_back_only_what_could_begin_a_secret() -> None:
    out = io.StringIO()
    writer = _RedactingWriter(out, (SECRET,))
    writer.write("plain text ")
    assert out.getvalue() == "plain text "
    writer.write("ends with t")
    assert out.getvalue() == "plain text ends with ", "a lone 't' might begin the secret"
    writer.release()
    assert out.getvalue() == "plain text ends with t"
