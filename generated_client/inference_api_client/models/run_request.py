from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.prediction_input import PredictionInput


T = TypeVar("T", bound="RunRequest")


@_attrs_define
class RunRequest:
    """A model to run. For the guide's three models `input` must match that model's input schema; other models take any
    input object.

        Attributes:
            model (str): `owner/name:version`, the version being 64 hex digits. Example:
                meta/llama-2-7b-chat:f1d50bb24186c52daae319ca8366e53debdaa9e0ae7ff976e918df752732ccc4.
            input_ (PredictionInput): The model's input. Any model version can be named, so this is an open object; the
                guide's models take `ImageToVideoInput`, `MistralInstructInput` and `LlamaChatInput`,
                and the request bodies hold them to it.
    """

    model: str
    input_: PredictionInput

    def to_dict(self) -> dict[str, Any]:
        model = self.model

        input_ = self.input_.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "model": model,
                "input": input_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.prediction_input import PredictionInput  # noqa: PLC0415

        d = dict(src_dict)
        model = d.pop("model")

        input_ = PredictionInput.from_dict(d.pop("input"))

        run_request = cls(
            model=model,
            input_=input_,
        )

        return run_request
