from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.prediction_status import PredictionStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.prediction_input import PredictionInput
    from ..models.prediction_metrics import PredictionMetrics
    from ..models.prediction_urls import PredictionUrls


T = TypeVar("T", bound="Prediction")


@_attrs_define
class Prediction:
    """One run of one model version on one input.

    Attributes:
        id (str): The prediction's id, for `getPrediction` and `cancelPrediction`. Example: ujebapbbulzpx25442efjv4qba.
        version (str): The model version (64 hex digits).
        status (PredictionStatus | str): A `PredictionStatus`; any other string is a status newer than this document.
        input_ (PredictionInput): The model's input. Any model can be called, so this is an open object; the inputs
            of the guide's models are described by `ImageToVideoInput`, `MistralInstructInput`
            and `LlamaChatInput`.
        created_at (datetime.datetime):
        urls (PredictionUrls): Where to fetch, cancel and stream the prediction. Follow these rather than build paths.
        model (None | str | Unset): The model, `owner/name`, when known. Example: meta/llama-2-7b-chat.
        output (Any | Unset): The model's output once it has some; its shape depends on the model (language models give
            a list of text pieces, the video model a URL).
        error (None | str | Unset): Why the prediction failed, when it did.
        logs (None | str | Unset): The model's log output so far.
        started_at (datetime.datetime | None | Unset):
        completed_at (datetime.datetime | None | Unset):
        metrics (None | PredictionMetrics | Unset):
    """

    id: str
    version: str
    status: PredictionStatus | str
    input_: PredictionInput
    created_at: datetime.datetime
    urls: PredictionUrls
    model: None | str | Unset = UNSET
    output: Any | Unset = UNSET
    error: None | str | Unset = UNSET
    logs: None | str | Unset = UNSET
    started_at: datetime.datetime | None | Unset = UNSET
    completed_at: datetime.datetime | None | Unset = UNSET
    metrics: None | PredictionMetrics | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.prediction_metrics import PredictionMetrics  # noqa: PLC0415

        id = self.id

        version = self.version

        status: str
        if isinstance(self.status, PredictionStatus):
            status = self.status.value
        else:
            status = self.status

        input_ = self.input_.to_dict()

        created_at = self.created_at.isoformat()

        urls = self.urls.to_dict()

        model: None | str | Unset
        if isinstance(self.model, Unset):
            model = UNSET
        else:
            model = self.model

        output = self.output

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        logs: None | str | Unset
        if isinstance(self.logs, Unset):
            logs = UNSET
        else:
            logs = self.logs

        started_at: None | str | Unset
        if isinstance(self.started_at, Unset):
            started_at = UNSET
        elif isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        completed_at: None | str | Unset
        if isinstance(self.completed_at, Unset):
            completed_at = UNSET
        elif isinstance(self.completed_at, datetime.datetime):
            completed_at = self.completed_at.isoformat()
        else:
            completed_at = self.completed_at

        metrics: dict[str, Any] | None | Unset
        if isinstance(self.metrics, Unset):
            metrics = UNSET
        elif isinstance(self.metrics, PredictionMetrics):
            metrics = self.metrics.to_dict()
        else:
            metrics = self.metrics

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "version": version,
                "status": status,
                "input": input_,
                "created_at": created_at,
                "urls": urls,
            }
        )
        if model is not UNSET:
            field_dict["model"] = model
        if output is not UNSET:
            field_dict["output"] = output
        if error is not UNSET:
            field_dict["error"] = error
        if logs is not UNSET:
            field_dict["logs"] = logs
        if started_at is not UNSET:
            field_dict["started_at"] = started_at
        if completed_at is not UNSET:
            field_dict["completed_at"] = completed_at
        if metrics is not UNSET:
            field_dict["metrics"] = metrics

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.prediction_input import PredictionInput  # noqa: PLC0415
        from ..models.prediction_metrics import PredictionMetrics  # noqa: PLC0415
        from ..models.prediction_urls import PredictionUrls  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

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

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        urls = PredictionUrls.from_dict(d.pop("urls"))

        def _parse_model(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        model = _parse_model(d.pop("model", UNSET))

        output = d.pop("output", UNSET)

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        def _parse_logs(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        logs = _parse_logs(d.pop("logs", UNSET))

        def _parse_started_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        started_at = _parse_started_at(d.pop("started_at", UNSET))

        def _parse_completed_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                completed_at_type_0 = datetime.datetime.fromisoformat(data)

                return completed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        completed_at = _parse_completed_at(d.pop("completed_at", UNSET))

        def _parse_metrics(data: object) -> None | PredictionMetrics | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                metrics_type_0 = PredictionMetrics.from_dict(data)

                return metrics_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PredictionMetrics | Unset, data)

        metrics = _parse_metrics(d.pop("metrics", UNSET))

        prediction = cls(
            id=id,
            version=version,
            status=status,
            input_=input_,
            created_at=created_at,
            urls=urls,
            model=model,
            output=output,
            error=error,
            logs=logs,
            started_at=started_at,
            completed_at=completed_at,
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
