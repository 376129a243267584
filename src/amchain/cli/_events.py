"""Typed vehicle events from command-line ``--field k=v`` pairs."""

from __future__ import annotations

import types
import typing
from typing import Any

import msgspec

from amchain.modules.vehicles.types import (
    EVENT_TYPES,
    AccidentEvent,
    InspectedEvent,
    InsuranceClaimEvent,
    OdometerEvent,
    OwnershipTransferredEvent,
    RecallNoticeEvent,
    RecoveredEvent,
    RegisteredEvent,
    RepairedEvent,
    ScrappedEvent,
    ServicedEvent,
    SoldEvent,
    StolenEvent,
)

_EVENT_STRUCTS: tuple[type[msgspec.Struct], ...] = (
    SoldEvent, RegisteredEvent, InspectedEvent, ServicedEvent, RepairedEvent, AccidentEvent,
    InsuranceClaimEvent, OdometerEvent, StolenEvent, RecoveredEvent, RecallNoticeEvent,
    OwnershipTransferredEvent, ScrappedEvent,
)  # fmt: skip
EVENT_STRUCTS: dict[str, type[msgspec.Struct]] = {
    str(s.__struct_config__.tag): s for s in _EVENT_STRUCTS
}
_TRUE = {"1", "true", "yes", "y", "on"}
_FALSE = {"0", "false", "no", "n", "off"}


class EventInputError(ValueError):
    """A bad event type, field name or field value (a usage error)."""


def event_fields(event_type: str) -> dict[str, msgspec.structs.FieldInfo]:
    struct = EVENT_STRUCTS.get(event_type)
    if struct is None:
        raise EventInputError(
            f"unknown event type {event_type!r}; valid types: {', '.join(EVENT_TYPES)}"
        )
    return {f.encode_name: f for f in msgspec.structs.fields(struct)}


def describe_fields(event_type: str) -> str:
    parts = []
    for name, info in event_fields(event_type).items():
        optional = info.required is False
        parts.append(f"{name}{'?' if optional else ''}: {_type_name(info.type)}")
    return ", ".join(parts)


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _strip_optional(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def parse_value(event_type: str, name: str, text: str) -> Any:
    fields = event_fields(event_type)
    info = fields.get(name)
    if info is None:
        raise EventInputError(
            f"event {event_type!r} has no field {name!r}; fields: {describe_fields(event_type)}"
        )
    tp = _strip_optional(info.type)
    origin = typing.get_origin(tp)
    if tp is bool:
        low = text.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise EventInputError(f"field {name!r} is a bool: use true or false, not {text!r}")
    if tp is int:
        try:
            return int(text.replace("_", ""))
        except ValueError:
            raise EventInputError(f"field {name!r} is an integer, not {text!r}") from None
    if origin is list:
        return [item.strip() for item in text.split(",") if item.strip()]
    if origin is typing.Literal:
        allowed = typing.get_args(tp)
        if text not in allowed:
            raise EventInputError(
                f"field {name!r} must be one of: {', '.join(map(str, allowed))} (got {text!r})"
            )
        return text
    return text


def build_event(
    event_type: str, fields: list[str], *, odometer_km: int | None = None
) -> dict[str, Any]:
    """Return ``{"type": event_type, ...}`` from ``k=v`` pairs, each typed by the event struct."""
    known = event_fields(event_type)
    event: dict[str, Any] = {"type": event_type}
    if odometer_km is not None:
        if "odometer_km" not in known:
            raise EventInputError(
                f"event {event_type!r} has no odometer reading; fields: "
                f"{describe_fields(event_type)}"
            )
        event["odometer_km"] = odometer_km
    for pair in fields:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise EventInputError(f"--field takes NAME=VALUE, got {pair!r}")
        event[name] = parse_value(event_type, name, value)
    missing = [n for n, info in known.items() if info.required and n not in event]
    if missing:
        raise EventInputError(
            f"event {event_type!r} needs {', '.join(missing)} (give --field NAME=VALUE); "
            f"fields: {describe_fields(event_type)}"
        )
    return event
