"""The typed module registry: which modules run, and how a name finds its spec.

:data:`INSTALLED_MODULES` is the one list of the modules this release runs: adding a
module is its folder under ``amchain/modules/`` and one line here. Order matters: genesis
sections are applied, signing keys resolved and end-of-block hooks run in this order.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from amchain.ledger import StateReader, TxCode, TxError
from amchain.modules.base import KeyStanding, MessageSpec, ModuleSpec, QuerySpec

__all__ = ["INSTALLED_MODULES", "ModuleRegistry", "default_registry", "installed_specs"]

INSTALLED_MODULES: tuple[str, ...] = (
    "consortium",
    "identity",
    "vehicles",
    "credentials",
    "tokens",
    "finance",
    "rewards",
    "sharing",
)


class ModuleRegistry:
    """An ordered, immutable set of module specs (order decides genesis, key resolution and
    the order of end-of-block hooks).

    Raises:
        ValueError: two modules share a name or a codespace.
    """

    def __init__(self, specs: Iterable[ModuleSpec]) -> None:
        self._specs: dict[str, ModuleSpec] = {}
        codespaces: dict[str, str] = {}
        for spec in specs:
            if spec.name in self._specs:
                raise ValueError(f"module {spec.name!r} registered twice")
            if spec.codespace in codespaces:
                raise ValueError(
                    f"modules {codespaces[spec.codespace]!r} and {spec.name!r} share the "
                    f"codespace {spec.codespace!r}"
                )
            self._specs[spec.name] = spec
            codespaces[spec.codespace] = spec.name
        self._key_resolvers = tuple(
            spec.resolve_key for spec in self._specs.values() if spec.resolve_key is not None
        )
        self._hooks = tuple(
            (spec.name, spec.end_block)
            for spec in self._specs.values()
            if spec.end_block is not None
        )

    @property
    def modules(self) -> tuple[ModuleSpec, ...]:
        return tuple(self._specs.values())

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._specs)

    @property
    def end_block_hooks(self) -> tuple[tuple[str, Any], ...]:
        """``(module name, hook)`` of the modules with an end-of-block hook, in order."""
        return self._hooks

    def module(self, name: str) -> ModuleSpec:
        """Return the spec of module ``name``.

        Raises:
            TxError: UNKNOWN_MODULE.
        """
        try:
            return self._specs[name]
        except KeyError:
            known = ", ".join(self._specs)
            raise TxError(
                TxCode.UNKNOWN_MODULE, f"no module {name!r} on this chain (modules: {known})"
            ) from None

    def message(self, module: str, message: str) -> MessageSpec[Any]:
        """Return the spec of ``module.message``.

        Raises:
            TxError: UNKNOWN_MODULE or UNKNOWN_MESSAGE.
        """
        spec = self.module(module)
        try:
            return spec.messages[message]
        except KeyError:
            known = ", ".join(spec.messages)
            raise TxError(
                TxCode.UNKNOWN_MESSAGE,
                f"module {module!r} has no message {message!r} (messages: {known})",
            ) from None

    def query(self, module: str, query: str) -> QuerySpec[Any, Any]:
        """Return the spec of the query ``module.query``.

        Raises:
            TxError: UNKNOWN_MODULE, or UNKNOWN_MESSAGE for a query the module lacks.
        """
        spec = self.module(module)
        try:
            return spec.queries[query]
        except KeyError:
            known = ", ".join(spec.queries) or "none"
            raise TxError(
                TxCode.UNKNOWN_MESSAGE,
                f"module {module!r} has no query {query!r} (queries: {known})",
            ) from None

    def resolve_key(self, state: StateReader, public_key: bytes) -> KeyStanding | None:
        """Return what the first module that knows ``public_key`` says about it."""
        for resolve in self._key_resolvers:
            standing: KeyStanding | None = resolve(state, public_key)
            if standing is not None:
                return standing
        return None


def installed_specs() -> list[ModuleSpec]:
    """Return the specs of :data:`INSTALLED_MODULES`, in order."""
    return [importlib.import_module(f"amchain.modules.{name}").SPEC for name in INSTALLED_MODULES]


def default_registry() -> ModuleRegistry:
    """Return the registry of the modules this release ships (:data:`INSTALLED_MODULES`)."""
    return ModuleRegistry(installed_specs())
