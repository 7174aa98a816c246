"""Issue 19, cases 5 and 10: inputs and model refs are bounded and checked before anything is sent.

Case 5: `Path("/dev/zero")` in an input grew to 2.5 GB in 1.5 s, whatever the call's deadline; a
512 MiB file peaked at 2.1 GB. Now only regular files are read, their size is checked before
reading (`ResponseLimits.max_file_bytes`), and reading counts against the call's deadline.

Case 10: `create(c, "mistralai/...:<llama's version>")` silently ran llama (run and stream answer
404 for that ref); `create(c, None)` raised AttributeError; an input nested 2,000 deep raised
RecursionError. Now each is a clear TypeError or ValueError, before any request.

Every case runs create, run and stream in every mode; the server must receive nothing.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml

from inference_api import calls, streaming
from inference_api._limits import ResponseLimits
from inference_api.errors import APITimeoutError
from inference_api_mock.models import MISTRAL
from tests.hostile import harness
from tests.hostile.answers import events, is_stream, prediction
from tests.hostile.harness import VERSION
from tests.hostile.rawserver import Connection, RawServer

LLAMA = f"meta/llama-2-7b-chat:{VERSION}"
MISTRAL_VERSION = MISTRAL.rpartition(":")[2]
CALLS = ("create", "run", "stream")
SPEC = Path(__file__).parents[2] / "openapi.yaml"


def answers(connection: Connection) -> None:
    request = connection.request()
    if is_stream(request):
        events(connection, b"id: 2\nevent: done\ndata: {}\n\n")
    else:
        prediction(connection, request, status="succeeded")


@pytest.fixture
def server() -> Iterator[RawServer]:
    with RawServer(answers) as running:
        yield running


def call(mode: str, server: RawServer, name: str, model: Any, model_input: Any, **options: Any) -> None:
    """`name` with `model` and `model_input`, in `mode`; what it raises propagates."""
    client = harness.client_for(mode, server.base_url, 10.0, **options)
    if mode == "sync":
        with client:
            if name == "create":
                calls.create(client, model, model_input)
            elif name == "run":
                calls.run(client, model, model_input)
            else:
                "".join(streaming.stream(client, model, model_input))
        return

    async def in_async() -> None:
        async with client:
            if name == "create":
                await calls.async_create(client, model, model_input)
            elif name == "run":
                await calls.async_run(client, model, model_input)
            else:
                async with streaming.async_stream(client, model, model_input) as text:
                    "".join([piece async for piece in text])

    anyio.run(in_async)


everywhere = pytest.mark.parametrize(("mode", "name"), [(mode, name) for mode in harness.MODES for name in CALLS])


def model_for(name: str) -> str:
    return VERSION if name == "create" else LLAMA


@everywhere
@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_a_file_that_is_not_regular_is_refused_before_reading(
    mode: str, name: str, special: str, server: RawServer, tmp_path: Path
) -> None:
    path = Path(special)
    if special == "fifo":
        path = tmp_path / "fifo"
        os.mkfifo(path)  # opening it for reading would wait for a writer forever
    with pytest.raises(ValueError, match="not a regular file"):
        call(mode, server, name, model_for(name), {"image": path, "prompt": "hi"})
    assert server.requests == []


@everywhere
def test_a_file_over_the_limit_is_refused_before_reading(
    mode: str, name: str, server: RawServer, tmp_path: Path
) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(b"\x89PNG" + b"\x00" * 2044)
    limits = ResponseLimits(max_file_bytes=2047)
    with pytest.raises(ValueError, match=r"larger than 2047 bytes.*max_file_bytes"):
        call(mode, server, name, model_for(name), {"image": path, "prompt": "hi"}, limits=limits)
    with path.open("rb") as file, pytest.raises(ValueError, match="max_file_bytes"):
        call(mode, server, name, model_for(name), {"image": file, "prompt": "hi"}, limits=limits)
    assert server.requests == []
    call(
        mode, server, name, model_for(name), {"image": path, "prompt": "hi"}, limits=ResponseLimits(max_file_bytes=2048)
    )
    assert len(server.requests) == 1 and b"data:image/png;base64," in server.requests[0].body


class SlowFile:
    """A binary file that takes 50 ms per read of 1,000 bytes, for 4 s in all."""

    mode = "rb"
    name = "slow.bin"

    def __init__(self) -> None:
        self.reads = 0

    def read(self, size: int = -1, /) -> bytes:
        self.reads += 1
        time.sleep(0.05)
        return b"x" * 1000 if self.reads <= 80 else b""


@everywhere
def test_reading_a_file_counts_against_the_calls_deadline(mode: str, name: str, server: RawServer) -> None:
    slow = SlowFile()
    with pytest.raises(APITimeoutError, match=r"reading the file 'slow\.bin' did not finish"):
        call(mode, server, name, model_for(name), {"image": slow, "prompt": "hi"}, call_timeout=0.5, run_timeout=0.5)
    assert slow.reads < 80, "reading stopped at the deadline"
    assert server.requests == []


@everywhere
def test_an_input_deeper_than_the_json_limit_is_a_value_error(mode: str, name: str, server: RawServer) -> None:
    nested: list[Any] = []
    for _ in range(2000):
        nested = [nested]
    with pytest.raises(ValueError, match="nests deeper than 128 levels"):
        call(mode, server, name, model_for(name), {"prompt": "hi", "deep": nested})
    looped: dict[str, Any] = {"prompt": "hi"}
    looped["self"] = looped
    with pytest.raises(ValueError, match="holds itself"):
        call(mode, server, name, model_for(name), looped)
    assert server.requests == []


BAD_REFS = {
    "None": (None, TypeError, "not NoneType"),
    "a number": (42, TypeError, "not int"),
    "no version": ("meta/llama-2-7b-chat", ValueError, "not a"),
    "a short version": ("meta/llama-2-7b-chat:abc123", ValueError, "not a model ref"),
    "upper-case hex": (f"meta/llama-2-7b-chat:{VERSION.upper()}", ValueError, "not a model ref"),
    "no owner": (f"llama:{VERSION}", ValueError, "not a model ref"),
    "mistral with llama's version": (
        f"mistralai/mistral-7b-instruct-v0.1:{VERSION}",
        ValueError,
        re.escape(f"did you mean 'mistralai/mistral-7b-instruct-v0.1:{MISTRAL_VERSION}'"),
    ),
    "llama's version under another name": (
        f"someone/else:{VERSION}",
        ValueError,
        re.escape(f"did you mean 'meta/llama-2-7b-chat:{VERSION}'"),
    ),
}


@everywhere
@pytest.mark.parametrize("ref", BAD_REFS)
def test_a_bad_model_ref_is_refused_before_sending(mode: str, name: str, ref: str, server: RawServer) -> None:
    model, error, message = BAD_REFS[ref]
    if name == "create" and ref == "no version":
        message = "not a model version"
    with pytest.raises(error, match=message):
        call(mode, server, name, model, {"prompt": "hi"})
    assert server.requests == []


def test_create_takes_a_version_or_a_matching_ref(server: RawServer) -> None:
    for model in (VERSION, LLAMA, f"mock/echo:{'0' * 64}"):
        call("sync", server, "create", model, {"prompt": "hi"})
    assert [json.loads(request.body)["version"] for request in server.requests] == [VERSION, VERSION, "0" * 64]


def test_the_guide_models_are_the_specs() -> None:
    from inference_api._refs import GUIDE_MODELS

    spec = yaml.safe_load(SPEC.read_text())
    refs = [
        branch["if"]["properties"]["model"]["const"] for branch in spec["components"]["schemas"]["RunRequest"]["allOf"]
    ]
    assert {ref.rpartition(":")[0]: ref.rpartition(":")[2] for ref in refs} == GUIDE_MODELS
    versions = [
        branch["if"]["properties"]["version"]["const"]
        for branch in spec["components"]["schemas"]["CreatePredictionRequest"]["allOf"]
    ]
    assert sorted(versions) == sorted(GUIDE_MODELS.values())
