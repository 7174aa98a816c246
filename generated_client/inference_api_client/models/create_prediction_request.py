from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..models.webhook_event import WebhookEvent
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.prediction_input import PredictionInput


T = TypeVar("T", bound="CreatePredictionRequest")


@_attrs_define
class CreatePredictionRequest:
    """A prediction to start. For the guide's three model versions `input` must match that model's input schema; other
    versions take any input object.

        Attributes:
            version (str): The model version to run (64 hex digits). Example:
                5821a338d00033abaaba89080a17eb8783d9a17ed710a6b4246a18e0900ccad4.
            input_ (PredictionInput): The model's input. Any model version can be named, so this is an open object; the
                guide's models take `ImageToVideoInput`, `MistralInstructInput` and `LlamaChatInput`,
                and the request bodies hold them to it.
            stream (bool | Unset): Set `urls.stream` so that the output can be read as server-sent events. Default: False.
            webhook (str | Unset): A URL that receives the prediction (as JSON, `POST`) on the events of
                `webhook_events_filter`.
            webhook_events_filter (list[WebhookEvent] | Unset): Which events are sent to `webhook`; all of them when
                omitted.
    """

    version: str
    input_: PredictionInput
    _stream: bool | Unset = False
    _webhook: str | Unset = UNSET
    _webhook_events_filter: list[WebhookEvent] | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        version = self.version

        input_ = self.input_.to_dict()

        stream = self._stream

        webhook = self._webhook

        webhook_events_filter: list[str] | Unset = UNSET
        if not isinstance(self._webhook_events_filter, Unset):
            webhook_events_filter = []
            for webhook_events_filter_item_data in self._webhook_events_filter:
                webhook_events_filter_item = webhook_events_filter_item_data.value
                webhook_events_filter.append(webhook_events_filter_item)

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "version": version,
                "input": input_,
            }
        )
        if stream is not UNSET:
            field_dict["stream"] = stream
        if webhook is not UNSET:
            field_dict["webhook"] = webhook
        if webhook_events_filter is not UNSET:
            field_dict["webhook_events_filter"] = webhook_events_filter

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.prediction_input import PredictionInput  # noqa: PLC0415

        d = dict(src_dict)
        version = d.pop("version")

        input_ = PredictionInput.from_dict(d.pop("input"))

        stream = d.pop("stream", UNSET)

        webhook = d.pop("webhook", UNSET)

        _webhook_events_filter = d.pop("webhook_events_filter", UNSET)
        webhook_events_filter: list[WebhookEvent] | Unset = UNSET
        if _webhook_events_filter is not UNSET:
            webhook_events_filter = []
            for webhook_events_filter_item_data in _webhook_events_filter:
                webhook_events_filter_item = WebhookEvent(webhook_events_filter_item_data)

                webhook_events_filter.append(webhook_events_filter_item)

        create_prediction_request = cls(
            version=version,
            input_=input_,
            stream=stream,
            webhook=webhook,
            webhook_events_filter=webhook_events_filter,
        )

        return create_prediction_request

    @property
    def stream(self) -> bool | None:
        """`stream`, or None when absent (reads never meet `Unset`)."""
        return None if isinstance(self._stream, Unset) else self._stream

    @stream.setter
    def stream(self, value: bool | Unset) -> None:
        self._stream = value

    @property
    def webhook(self) -> str | None:
        """`webhook`, or None when absent (reads never meet `Unset`)."""
        return None if isinstance(self._webhook, Unset) else self._webhook

    @webhook.setter
    def webhook(self, value: str | Unset) -> None:
        self._webhook = value

    @property
    def webhook_events_filter(self) -> list[WebhookEvent] | None:
        """`webhook_events_filter`, or None when absent (reads never meet `Unset`)."""
        return None if isinstance(self._webhook_events_filter, Unset) else self._webhook_events_filter

    @webhook_events_filter.setter
    def webhook_events_filter(self, value: list[WebhookEvent] | Unset) -> None:
        self._webhook_events_filter = value
