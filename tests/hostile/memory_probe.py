"""Follow one endless stream in a fresh process and report how much its memory grew (not a test module).

    python -m tests.hostile.memory_probe MODE BASE_URL

MODE is one of tests.hostile.harness.MODES. Prints one JSON line: the error the stream raised
(type and message) and `growth_bytes`, the peak resident set (VmHWM) at the end less the
resident set (VmRSS) just before the stream, both from /proc/self/status. Its own process, so
that the test process's memory cannot blur the figure.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import anyio

from inference_api import calls, streaming
from tests.hostile.harness import PREDICTION_ID, client_for, streaming_prediction


def status_bytes(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    raise LookupError(field)


def follow_sync(mode: str, base_url: str) -> dict[str, Any]:
    with client_for(mode, base_url, 60.0) as client:
        calls.get(client, PREDICTION_ID)  # warms up: every module and the connection pool in place
        before = status_bytes("VmRSS")
        try:
            text = "".join(streaming.stream_prediction(client, streaming_prediction(base_url)))
            outcome: dict[str, Any] = {"error": None, "text_length": len(text)}
        except Exception as exc:  # the test inspects it
            outcome = {"error": type(exc).__name__, "message": str(exc)}
    return {**outcome, "growth_bytes": status_bytes("VmHWM") - before}


async def follow_async(mode: str, base_url: str) -> dict[str, Any]:
    async with client_for(mode, base_url, 60.0) as client:
        await calls.async_get(client, PREDICTION_ID)
        before = status_bytes("VmRSS")
        try:
            async with streaming.async_stream_prediction(client, streaming_prediction(base_url)) as text:
                pieces = [piece async for piece in text]
            outcome: dict[str, Any] = {"error": None, "text_length": len("".join(pieces))}
        except Exception as exc:
            outcome = {"error": type(exc).__name__, "message": str(exc)}
    return {**outcome, "growth_bytes": status_bytes("VmHWM") - before}


def main() -> None:
    mode, base_url = sys.argv[1:3]
    result = follow_sync(mode, base_url) if mode == "sync" else anyio.run(follow_async, mode, base_url)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
