from __future__ import annotations

from collections.abc import Mapping
from typing import (
    Any,
    Literal,
    TypeVar,
    cast,
)

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="StreamLogsEvent")


@_attrs_define
class StreamLogsEvent:
    """Log lines.

    Attributes:
        event (Literal['logs']):
        data (str):
        id (str | Unset):
    """

    event: Literal["logs"]
    data: str
    _id: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        event = self.event

        data = self.data

        id = self._id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "event": event,
                "data": data,
            }
        )
        if id is not UNSET:
            field_dict["id"] = id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        event = cast(Literal["logs"], d.pop("event"))
        if event != "logs":
            raise ValueError(f"event must match const 'logs', got '{event}'")

        data = d.pop("data")

        id = d.pop("id", UNSET)

        stream_logs_event = cls(
            event=event,
            data=data,
            id=id,
        )

        stream_logs_event.additional_properties = d
        return stream_logs_event

    @property
    def id(self) -> str | None:
        """`id`, or None when absent (reads never meet `Unset`)."""
        return None if isinstance(self._id, Unset) else self._id

    @id.setter
    def id(self, value: str | Unset) -> None:
        self._id = value

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
