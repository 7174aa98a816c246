from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.prediction_status import PredictionStatus

if TYPE_CHECKING:
    from ..models.prediction_input import PredictionInput
    from ..models.prediction_metrics import PredictionMetrics
    from ..models.prediction_urls import PredictionUrls


T = TypeVar("T", bound="Prediction")


@_attrs_define
class Prediction:
    """One run of one model version on one input. Every field is always sent, `null` while it has no value.

    Attributes:
        id (str): The prediction's id, for `getPrediction` and `cancelPrediction`. Example: ujebapbbulzpx25442efjv4qba.
        model (None | str): The model, `owner/name`, when known. Example: meta/llama-2-7b-chat.
        version (str): The model version (64 hex digits).
        status (PredictionStatus | str): A `PredictionStatus`; any other string is a status newer than this document.
        input_ (PredictionInput): The model's input. Any model version can be named, so this is an open object; the
            guide's models take `ImageToVideoInput`, `MistralInstructInput` and `LlamaChatInput`,
            and the request bodies hold them to it.
        output (Any): The model's output, `null` until it has some; any JSON value, its shape set by the
            model: language models give a list of text pieces, the video model a URL.
        error (None | str): Why the prediction failed, when it did.
        logs (None | str): The model's log output so far.
        created_at (datetime.datetime):
        started_at (datetime.datetime | None):
        completed_at (datetime.datetime | None):
        urls (PredictionUrls): Where to fetch, cancel and stream the prediction. Follow these rather than build paths.
        metrics (None | PredictionMetrics):
    """

    id: str
    model: None | str
    version: str
    status: PredictionStatus | str
    input_: PredictionInput
    output: Any
    error: None | str
    logs: None | str
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    completed_at: datetime.datetime | None
    urls: PredictionUrls
    metrics: None | PredictionMetrics
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.prediction_metrics import PredictionMetrics  # noqa: PLC0415

        id = self.id

        model: None | str
        model = self.model

        version = self.version

        status: str
        if isinstance(self.status, PredictionStatus):
            status = self.status.value
        else:
            status = self.status

        input_ = self.input_.to_dict()

        output = self.output

        error: None | str
        error = self.error

        logs: None | str
        logs = self.logs

        created_at = self.created_at.isoformat()

        started_at: None | str
        if isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        completed_at: None | str
        if isinstance(self.completed_at, datetime.datetime):
            completed_at = self.completed_at.isoformat()
        else:
            completed_at = self.completed_at

        urls = self.urls.to_dict()

        metrics: dict[str, Any] | None
        if isinstance(self.metrics, PredictionMetrics):
            metrics = self.metrics.to_dict()
        else:
            metrics = self.metrics

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "model": model,
                "version": version,
                "status": status,
                "input": input_,
                "output": output,
                "error": error,
                "logs": logs,
                "created_at": created_at,
                "started_at": started_at,
                "completed_at": completed_at,
                "urls": urls,
                "metrics": metrics,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.prediction_input import PredictionInput  # noqa: PLC0415
        from ..models.prediction_metrics import PredictionMetrics  # noqa: PLC0415
        from ..models.prediction_urls import PredictionUrls  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        def _parse_model(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        model = _parse_model(d.pop("model"))

        version = d.pop("version")

        def _parse_status(data: object) -> PredictionStatus | str:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                status_type_0 = PredictionStatus(data)

                return status_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(PredictionStatus | str, data)

        status = _parse_status(d.pop("status"))

        input_ = PredictionInput.from_dict(d.pop("input"))

        output = d.pop("output")

        def _parse_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        error = _parse_error(d.pop("error"))

        def _parse_logs(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        logs = _parse_logs(d.pop("logs"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_started_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        started_at = _parse_started_at(d.pop("started_at"))

        def _parse_completed_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                completed_at_type_0 = datetime.datetime.fromisoformat(data)

                return completed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        completed_at = _parse_completed_at(d.pop("completed_at"))

        urls = PredictionUrls.from_dict(d.pop("urls"))

        def _parse_metrics(data: object) -> None | PredictionMetrics:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                metrics_type_0 = PredictionMetrics.from_dict(data)

                return metrics_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PredictionMetrics, data)

        metrics = _parse_metrics(d.pop("metrics"))

        prediction = cls(
            id=id,
            model=model,
            version=version,
            status=status,
            input_=input_,
            output=output,
            error=error,
            logs=logs,
            created_at=created_at,
            started_at=started_at,
            completed_at=completed_at,
            urls=urls,
            metrics=metrics,
        )

        prediction.additional_properties = d
        return prediction

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
