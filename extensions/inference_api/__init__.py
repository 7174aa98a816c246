"""The hand-written layer over `inference_api_client`: calls that raise typed errors, retries,
streaming, waiting, file inputs and downloads.

    from inference_api import connect, run, stream, create, wait

    client = connect()                                  # $INFERENCE_API_TOKEN, $INFERENCE_API_BASE_URL
    print("".join(run(client, MODEL, {"prompt": "Hi"}).output))
    for piece in stream(client, MODEL, {"prompt": "Hi"}):
        print(piece, end="", flush=True)
    prediction = wait(client, create(client, VERSION, {"prompt": "Hi"}), timeout=60)

    for result in batch(client, MODEL, inputs, concurrency=32, output="results.jsonl"):
        print(result.index, result.status)

Every call has an async twin named with an `async_` prefix.

Names are imported on first use (PEP 562), so `import inference_api` and the `inference-api`
command line start without loading httpx or the generated client until they need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_names
from ._version import __version__

if TYPE_CHECKING:
    from inference_api_client.models import Prediction, PredictionStatus

    from ._limits import ResponseLimits
    from ._retry import RetryPolicy
    from ._streaming import ResumePolicy
    from ._waiting import PollSchedule
    from .batching import AsyncBatch, Batch, BatchResult, BatchStats, async_batch, batch
    from .calls import async_cancel, async_create, async_get, async_run, cancel, create, get, run
    from .connection import InferenceClient, connect
    from .errors import (
        APIConnectionError,
        APIError,
        APIResponseError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        ConflictError,
        NotFoundError,
        PayloadTooLargeError,
        PermissionDeniedError,
        PredictionCanceledError,
        PredictionError,
        RateLimitError,
        ServerError,
        StreamCanceledError,
        StreamError,
        StreamTimeoutError,
        UnprocessableEntityError,
        WaitTimeoutError,
    )
    from .files import async_download, download, to_data_uri
    from .responses import RawResponse, ResponseCapture, capture_responses
    from .sse import ServerSentEvent, aiter_events, iter_events
    from .streaming import AsyncTextStream, TextStream, async_stream, async_stream_prediction, stream, stream_prediction
    from .waiting import async_wait, wait

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncBatch",
    "AsyncTextStream",
    "AuthenticationError",
    "BadRequestError",
    "Batch",
    "BatchResult",
    "BatchStats",
    "ConflictError",
    "InferenceClient",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PollSchedule",
    "Prediction",
    "PredictionCanceledError",
    "PredictionError",
    "PredictionStatus",
    "RateLimitError",
    "RawResponse",
    "ResponseCapture",
    "ResponseLimits",
    "ResumePolicy",
    "RetryPolicy",
    "ServerError",
    "ServerSentEvent",
    "StreamCanceledError",
    "StreamError",
    "StreamTimeoutError",
    "TextStream",
    "UnprocessableEntityError",
    "WaitTimeoutError",
    "__version__",
    "aiter_events",
    "async_batch",
    "async_cancel",
    "async_create",
    "async_download",
    "async_get",
    "async_run",
    "async_stream",
    "async_stream_prediction",
    "async_wait",
    "batch",
    "cancel",
    "capture_responses",
    "connect",
    "create",
    "download",
    "get",
    "iter_events",
    "run",
    "stream",
    "stream_prediction",
    "to_data_uri",
    "wait",
]

# Where each public name lives: the module is imported on first access.
_SOURCES = {
    "Prediction": "inference_api_client.models",
    "PredictionStatus": "inference_api_client.models",
    "ResponseLimits": "._limits",
    "RetryPolicy": "._retry",
    "ResumePolicy": "._streaming",
    "PollSchedule": "._waiting",
    **dict.fromkeys(
        ["async_cancel", "async_create", "async_get", "async_run", "cancel", "create", "get", "run"], ".calls"
    ),
    "InferenceClient": ".connection",
    "connect": ".connection",
    **dict.fromkeys([name for name in __all__ if name.endswith("Error")], ".errors"),
    **dict.fromkeys(["async_download", "download", "to_data_uri"], ".files"),
    **dict.fromkeys(["RawResponse", "ResponseCapture", "capture_responses"], ".responses"),
    **dict.fromkeys(["ServerSentEvent", "aiter_events", "iter_events"], ".sse"),
    **dict.fromkeys(
        ["AsyncTextStream", "TextStream", "async_stream", "async_stream_prediction", "stream", "stream_prediction"],
        ".streaming",
    ),
    **dict.fromkeys(["async_wait", "wait"], ".waiting"),
    **dict.fromkeys(["AsyncBatch", "Batch", "BatchResult", "BatchStats", "async_batch", "batch"], ".batching"),
}


__getattr__ = lazy_names(__name__, _SOURCES)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
