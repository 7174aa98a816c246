"""Contains all the data models used in inputs/outputs"""

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
