"""The module spec: everything the runtime and the outer layers know about a module.

A module's package exports one :class:`ModuleSpec`. The runtime executes its messages,
genesis and block hook; the REST API mounts its queries and documents every message's
arguments, the SDK and the CLI's generic ``tx``/``query`` commands are typed from the same
structs, and the explorer shows a page per module. Nothing outside the module's folder is
written by hand to give it an API (as Cosmos SDK derives CLI and REST from a module's own
definitions).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Generic, Literal, TypeVar

import msgspec

from amchain.ledger import LedgerError, StateReader
from amchain.modules.base.context import (
    BlockContext,
    EventAttributes,
    GenesisContext,
    KeyStanding,
    QueryContext,
    TxContext,
)

__all__ = [
    "CliCommand",
    "DemoStep",
    "DemoWorld",
    "GenesisMember",
    "GenesisSpec",
    "MessageSpec",
    "ModuleError",
    "ModuleSpec",
    "NoParams",
    "ProofCode",
    "ProofUnavailable",
    "QuerySpec",
]

Args = TypeVar("Args")
Params = TypeVar("Params")
Result = TypeVar("Result")
Section = TypeVar("Section")

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PATH_FIELD = re.compile(r"\{([a-z_][a-z0-9_]*)(?::path)?\}")


class ModuleError(LedgerError):
    """A handler's or query's refusal. Subclass per module and set ``codespace``."""

    codespace = "module"


class ProofCode(IntEnum):
    """Stable codes of the ``proof`` codespace."""

    HEIGHT_NOT_COMMITTED = 20
    HEIGHT_NOT_RETAINED = 21
    NOT_PROVABLE = 22


class ProofUnavailable(LedgerError):
    """The node cannot answer as asked at that height, or cannot prove the answer: the
    height is not committed (HEIGHT_NOT_COMMITTED) or not retained (HEIGHT_NOT_RETAINED),
    or the answer is not of a provable kind (NOT_PROVABLE). Raised by queries and by the
    :class:`~amchain.modules.base.ChainView` the node hands them."""

    codespace = "proof"


def _is_struct(type_: Any) -> bool:
    return isinstance(type_, type) and issubclass(type_, msgspec.Struct)


@dataclass(frozen=True, slots=True)
class CliCommand:
    """A command of its own for a message or query, beside the generic ``amchain tx`` and
    ``amchain query`` (as Cosmos ``autocli`` lets a module name its commands).

    - ``command``: its words, e.g. ``"vehicle register"`` (a group and a name).
    - ``positional``: the fields given by position, as dotted paths (``"vin"``,
      ``"event.type"``).
    - ``options``: options named after fields (``{"--year": "model_year"}``); every other
      top-level scalar field is an option of its own name too (``--make``).
    - ``field_prefix``: where ``--field NAME=VALUE`` puts its fields (``"event."``).
    - ``summary``: the help's first line (default: the message's or query's).
    """

    command: str
    positional: tuple[str, ...] = ()
    options: Mapping[str, str] = field(default_factory=dict)
    field_prefix: str = ""
    summary: str = ""

    def describe(self) -> dict[str, Any]:
        """The hint as plain JSON (what ``GET /v1/modules`` lists)."""
        return {
            "command": self.command,
            "positional": list(self.positional),
            "options": dict(self.options),
            "field_prefix": self.field_prefix,
            "summary": self.summary,
        }


@dataclass(frozen=True, slots=True)
class DemoWorld:
    """What the demo traffic of ``amchain up --demo`` has made when a module's demo runs:
    every DID here has a key the demo holds, so a :class:`DemoStep` may name it as a signer.

    - ``orgs``: the dev chain's organisations, role → organisation DID
      (``{"oem": "did:amc:org:oem", …}``).
    - ``people``: DIDs of the demo's people, in the order they were made.
    - ``vehicles``: the demo's vehicles, VIN → current owner's DID, in production order; a
      vehicle's own DID (``did:amc:vin:<VIN>``) signs with its on-board key.
    - ``odometer_km``: each vehicle's last recorded odometer reading.
    - ``time_ms``: the chain's time when the module's demo starts.
    """

    orgs: Mapping[str, str]
    people: tuple[str, ...]
    vehicles: Mapping[str, str]
    time_ms: int
    odometer_km: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DemoStep:
    """One transaction of a module's demo traffic, signed by the keys of ``signers`` (DIDs
    of the :class:`DemoWorld`).

    ``refused_with`` is the refusal the step shows on purpose (``("tokens", 7)``): the demo
    reports it as expected, and a success as a fault. ``note`` says what the step shows.
    ``module``: another module's message the step sends (default: the declaring module's).
    ``not_before_ms``: the demo waits until the clock passes it (a maturity), at most a few
    minutes.
    """

    message: str
    args: Mapping[str, Any]
    signers: tuple[str, ...]
    note: str = ""
    refused_with: tuple[str, int] | None = None
    module: str | None = None
    not_before_ms: int | None = None


class NoParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The parameters of a query that takes none."""


def _no_roles(_args: Any) -> tuple[str, ...]:
    return ()


def _no_index(_args: Any) -> list[tuple[str, str]]:
    return []


def _no_keys(_args: Any) -> list[bytes]:
    return []


def _no_check(_args: Any) -> None:
    return None


@dataclass(frozen=True, slots=True)
class MessageSpec(Generic[Args]):
    """One message a module accepts.

    - ``args_type``: msgspec Struct (``forbid_unknown_fields=True``) the arguments must fit;
      its fields' ``msgspec.Meta(description=...)`` are the help the CLI and the OpenAPI
      document show.
    - ``handler(ctx, args)``: validates, authorises, changes state, emits events; raises
      :class:`ModuleError` to refuse (the runtime then drops every change it made).
    - ``roles(args)``: consortium roles of which at least one signer must hold one; empty
      means the handler authorises by itself (e.g. a DID controller's signature).
    - ``index(args)``: ``(kind, value)`` pairs the transaction is indexed under
      (``("vehicle", vin)``, ``("did", did)``), failed or not.
    - ``introduced_keys(args)``: keys this message registers; they may sign (to prove
      possession) although the chain does not know them yet.
    - ``check(args)``: stateless validation (e.g. a VIN's check digit) that the runtime runs
      at admission, so malformed requests are refused before they reach a block; raises
      ModuleError. The handler runs the same function too (a block may come from another
      peer), so the executor does not run it a second time.
    - ``signers``: who signs, in words, for help texts ("an OEM key", "the owner and the
      buyer").
    - ``example``: arguments that show the message's shape (help texts, explorer forms).
    - ``cli``: a command of its own for the message (:class:`CliCommand`).
    """

    name: str
    args_type: type[Args]
    handler: Callable[[TxContext, Args], None]
    summary: str
    roles: Callable[[Args], tuple[str, ...]] = _no_roles
    index: Callable[[Args], list[tuple[str, str]]] = _no_index
    introduced_keys: Callable[[Args], list[bytes]] = _no_keys
    check: Callable[[Args], None] = _no_check
    signers: str = ""
    example: Mapping[str, Any] | None = None
    cli: CliCommand | None = None


@dataclass(frozen=True, slots=True)
class QuerySpec(Generic[Params, Result]):
    """One read-only query of a module, served at ``GET /v1<path>`` (or ``POST``).

    - ``params_type``: msgspec Struct of the parameters; a field named in ``path``
      (``/vehicles/{vin}``, or ``{url:path}`` for one that holds slashes) is a path
      parameter, the others are query parameters (``POST``: the JSON body).
    - ``result_type``: the type of the answer (for the OpenAPI document and clients).
    - ``handler(ctx, params)``: the answer, or None when the thing asked for does not
      exist (the API answers 404 with ``not_found`` formatted with the params); raises
      :class:`ModuleError` for parameters it cannot answer (400).
    - ``proof``: ``"on_request"``: the request may ask for ``proof=true``, and the handler
      then adds a proof bundle it builds with ``ctx.chain``
      (:class:`~amchain.modules.base.ChainView`); ``"always"``: every answer is proven (at
      the latest certified height); ``"no"``: answers are not proven.
    - ``historical``: the request may ask for an older ``height``.
    - ``policy(ctx, params)``: who may ask (raises ModuleError to refuse); None is public.
    - ``path``: the route under ``/v1`` (default ``/<module>/<name>``).
    - ``cli``: a command of its own for the query (:class:`CliCommand`).
    """

    name: str
    params_type: Any
    """A Struct; for ``POST`` any type msgspec decodes (a tagged union of Structs, say)."""
    result_type: Any
    handler: Callable[[QueryContext, Params], Result | None]
    summary: str
    path: str = ""
    method: Literal["GET", "POST"] = "GET"
    description: str = ""
    not_found: str = ""
    proof: Literal["no", "on_request", "always"] = "no"
    historical: bool = False
    policy: Callable[[QueryContext, Params], None] | None = None
    cli: CliCommand | None = None

    def path_fields(self) -> tuple[str, ...]:
        """Return the parameter names the path template holds, in order."""
        return tuple(_PATH_FIELD.findall(self.path))


@dataclass(frozen=True, slots=True)
class GenesisMember:
    """An organisation a new chain starts with, as the node layer hands it to each module's
    ``dev_default`` (the development chain and the local consortium build their members'
    keys; the modules decide what their genesis sections hold)."""

    id: str
    name: str
    roles: tuple[str, ...]
    admin_keys: tuple[str, ...]
    """Lowercase hex public keys."""
    device_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GenesisSpec(Generic[Section]):
    """A module's section of the genesis document.

    - ``type``: msgspec Struct the section must fit (strictly decoded).
    - ``init(ctx, section)``: writes the module's state at height 0 (``ctx.state``), with
      the chain id and genesis time at hand; raises ModuleError.
    - ``dev_default(members)``: the section of a new development chain or local consortium.
    """

    type: type[Section]
    init: Callable[[GenesisContext, Section], None]
    dev_default: Callable[[Sequence[GenesisMember]], Section]


@dataclass(frozen=True, slots=True)
class ModuleSpec:
    """A module as the runtime and the outer layers see it.

    - ``messages``, ``queries``: by name.
    - ``events``: the event structs the module's handlers and hook emit.
    - ``genesis``: its genesis section (None: the module starts empty).
    - ``end_block(ctx)``: a deterministic hook run at the end of every block, after the
      transactions (time-based rules: instalments falling due, releases, expiries).
    - ``resolve_key(state, key)``: what the module knows about a signing key (consortium
      keys, DID keys), for the runtime's authorisation step.
    - ``title``, ``description``: what the module is, in words, for help and pages.
    - ``demo(world)``: the module's part of ``amchain up --demo``: transactions in order,
      built from what the demo made so far (:class:`DemoWorld`); a pure function.

    Raises:
        ValueError: names that are not lowercase identifiers, a message or query filed under
            another name, an event without a type or of another module, or a query path
            naming a parameter its params struct does not have.
    """

    name: str
    codespace: str
    messages: Mapping[str, MessageSpec[Any]]
    queries: Mapping[str, QuerySpec[Any, Any]] = field(default_factory=dict)
    events: Sequence[type[EventAttributes]] = ()
    genesis: GenesisSpec[Any] | None = None
    end_block: Callable[[BlockContext], None] | None = None
    resolve_key: Callable[[StateReader, bytes], KeyStanding | None] | None = None
    title: str = ""
    description: str = ""
    demo: Callable[[DemoWorld], Sequence[DemoStep]] | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"module name {self.name!r} is not a lowercase identifier")
        for name, message in self.messages.items():
            if name != message.name or not _NAME.match(name):
                raise ValueError(f"{self.name}: message {name!r} is filed as {message.name!r}")
        for name, query in self.queries.items():
            if name != query.name or not _NAME.match(name):
                raise ValueError(f"{self.name}: query {name!r} is filed as {query.name!r}")
            if not query.path.startswith("/") and query.path:
                raise ValueError(f"{self.name}.{name}: path {query.path!r} must start with /")
            if not _is_struct(query.params_type):
                if query.method != "POST" or query.path_fields():
                    raise ValueError(
                        f"{self.name}.{name}: params that are not a Struct are a POST body"
                    )
                continue
            fields = {f.encode_name for f in msgspec.structs.fields(query.params_type)}
            for path_field in query.path_fields():
                if path_field not in fields:
                    raise ValueError(
                        f"{self.name}.{name}: path {query.path!r} names {path_field!r}, "
                        f"which {query.params_type.__name__} does not have"
                    )
        for event in self.events:
            if not event.event_type.startswith(self.name + "."):
                raise ValueError(
                    f"{self.name}: event struct {event.__name__} has type "
                    f"{event.event_type!r}, not {self.name}.<what_happened>"
                )

    def query_path(self, query: QuerySpec[Any, Any]) -> str:
        """Return the route of ``query`` under ``/v1``."""
        return query.path or f"/{self.name}/{query.name}"

    def event_types(self) -> dict[str, type[EventAttributes]]:
        """Return the module's event structs by event type."""
        return {event.event_type: event for event in self.events}
