"""Every message's arguments are bounded by their struct, so admission refuses what must
not be stored (issue 29): each text has a maximum length, each list and map a maximum count.
New modules are held to it as soon as they are installed."""

from __future__ import annotations

from typing import Any

import msgspec.inspect as mi
import pytest

from amchain.runtime import default_registry

# Signed credentials travel as documents whose own schema the module checks (and whose
# size the transaction's 64 KiB bounds): their keys and values are not typed by a struct.
DOCUMENT_FIELDS = {
    "credentials.register_credential.credential",
    "credentials.grant_access.grant",
}


def _unbounded(info: Any, path: str, seen: frozenset[type]) -> list[str]:
    while isinstance(info, mi.Metadata):
        info = info.type
    if isinstance(info, mi.StrType):
        return [] if info.max_length is not None else [f"{path}: text without max_length"]
    if isinstance(info, (mi.ListType, mi.VarTupleType, mi.SetType, mi.FrozenSetType)):
        own = [] if info.max_length is not None else [f"{path}: list without max_length"]
        return own + _unbounded(info.item_type, f"{path}[]", seen)
    if isinstance(info, mi.DictType):
        own = [] if info.max_length is not None else [f"{path}: map without max_length"]
        if path in DOCUMENT_FIELDS:
            return own
        return own + _unbounded(info.key_type, path, seen) + _unbounded(info.value_type, path, seen)
    if isinstance(info, mi.StructType):
        if info.cls in seen:
            return []
        return [
            problem
            for field in info.fields
            for problem in _unbounded(field.type, f"{path}.{field.name}", seen | {info.cls})
        ]
    if isinstance(info, mi.UnionType):
        return [problem for member in info.types for problem in _unbounded(member, path, seen)]
    if isinstance(info, mi.AnyType):
        return [f"{path}: untyped value"]
    return []


MESSAGES = [
    (spec.name, name, message)
    for spec in default_registry().modules
    for name, message in spec.messages.items()
]


@pytest.mark.parametrize(
    ("module", "name", "message"), MESSAGES, ids=[f"{m}.{n}" for m, n, _ in MESSAGES]
)
def test_every_argument_of_every_message_is_bounded_by_its_struct(
    module: str, name: str, message: Any
) -> None:
    problems = _unbounded(mi.type_info(message.args_type), f"{module}.{name}", frozenset())
    assert problems == [], "bound these fields (amchain.modules.base.fields): " + "; ".join(
        problems
    )


def test_the_audit_notices_an_unbounded_field() -> None:
    import msgspec

    class Loose(msgspec.Struct):
        note: str
        tags: list[str]

    problems = _unbounded(mi.type_info(Loose), "x.y", frozenset())
    assert problems == [
        "x.y.note: text without max_length",
        "x.y.tags: list without max_length",
        "x.y.tags[]: text without max_length",
    ]
