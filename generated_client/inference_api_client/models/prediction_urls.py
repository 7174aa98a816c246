from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="PredictionUrls")


@_attrs_define
class PredictionUrls:
    """Where to fetch, cancel and stream the prediction. Follow these rather than build paths.

    Attributes:
        get (str):
        cancel (str):
        stream (None | str | Unset): The prediction's event stream; set when it was created with `"stream": true`.
    """

    get: str
    cancel: str
    _stream: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        get = self.get

        cancel = self.cancel

        stream: None | str | Unset
        if isinstance(self._stream, Unset):
            stream = UNSET
        else:
            stream = self._stream

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "get": get,
                "cancel": cancel,
            }
        )
        if stream is not UNSET:
            field_dict["stream"] = stream

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        get = d.pop("get")

        cancel = d.pop("cancel")

        def _parse_stream(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        stream = _parse_stream(d.pop("stream", UNSET))

        prediction_urls = cls(
            get=get,
            cancel=cancel,
            stream=stream,
        )

        prediction_urls.additional_properties = d
        return prediction_urls

    @property
    def stream(self) -> None | str:
        """`stream`, or None when absent (reads never meet `Unset`)."""
        return None if isinstance(self._stream, Unset) else self._stream

    @stream.setter
    def stream(self, value: None | str | Unset) -> None:
        self._stream = value

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
