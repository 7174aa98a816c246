"""Contains all the data models used in inputs/outputs.

Each model is imported when first used (PEP 562): importing all of them took ~17 ms, a fifth of
`import httpx`, where a caller needs a few (see templates/README.md).
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .create_prediction_request import CreatePredictionRequest
    from .error_response import ErrorResponse
    from .image_to_video_input import ImageToVideoInput
    from .llama_chat_input import LlamaChatInput
    from .mistral_instruct_input import MistralInstructInput
    from .prediction import Prediction
    from .prediction_input import PredictionInput
    from .prediction_metrics import PredictionMetrics
    from .prediction_response import PredictionResponse
    from .prediction_status import PredictionStatus
    from .prediction_urls import PredictionUrls
    from .run_request import RunRequest
    from .stream_done_data import StreamDoneData
    from .stream_done_event import StreamDoneEvent
    from .stream_error_data import StreamErrorData
    from .stream_error_event import StreamErrorEvent
    from .stream_logs_event import StreamLogsEvent
    from .stream_output_event import StreamOutputEvent
    from .validation_issue import ValidationIssue
    from .webhook_event import WebhookEvent

__all__ = (
    "CreatePredictionRequest",
    "ErrorResponse",
    "ImageToVideoInput",
    "LlamaChatInput",
    "MistralInstructInput",
    "Prediction",
    "PredictionInput",
    "PredictionMetrics",
    "PredictionResponse",
    "PredictionStatus",
    "PredictionUrls",
    "RunRequest",
    "StreamDoneData",
    "StreamDoneEvent",
    "StreamErrorData",
    "StreamErrorEvent",
    "StreamLogsEvent",
    "StreamOutputEvent",
    "ValidationIssue",
    "WebhookEvent",
)

# Where each model lives: its module is imported on first access.
_MODULES = {
    "CreatePredictionRequest": ".create_prediction_request",
    "ErrorResponse": ".error_response",
    "ImageToVideoInput": ".image_to_video_input",
    "LlamaChatInput": ".llama_chat_input",
    "MistralInstructInput": ".mistral_instruct_input",
    "Prediction": ".prediction",
    "PredictionInput": ".prediction_input",
    "PredictionMetrics": ".prediction_metrics",
    "PredictionResponse": ".prediction_response",
    "PredictionStatus": ".prediction_status",
    "PredictionUrls": ".prediction_urls",
    "RunRequest": ".run_request",
    "StreamDoneData": ".stream_done_data",
    "StreamDoneEvent": ".stream_done_event",
    "StreamErrorData": ".stream_error_data",
    "StreamErrorEvent": ".stream_error_event",
    "StreamLogsEvent": ".stream_logs_event",
    "StreamOutputEvent": ".stream_output_event",
    "ValidationIssue": ".validation_issue",
    "WebhookEvent": ".webhook_event",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
