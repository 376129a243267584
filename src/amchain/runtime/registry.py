"""The typed module registry: which modules run, and how a message name finds its spec."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from amchain.ledger import StateReader, TxCode, TxError
from amchain.modules.base import KeyStanding, MessageSpec, ModuleSpec


class ModuleRegistry:
    """An ordered, immutable set of module specs (order decides genesis and key resolution)."""

    def __init__(self, specs: Iterable[ModuleSpec]) -> None:
        self._specs: dict[str, ModuleSpec] = {}
        for spec in specs:
            if spec.name in self._specs:
                raise ValueError(f"module {spec.name!r} registered twice")
            self._specs[spec.name] = spec

    @property
    def modules(self) -> tuple[ModuleSpec, ...]:
        return tuple(self._specs.values())

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

    def resolve_key(self, state: StateReader, public_key: bytes) -> KeyStanding | None:
        """Return what the first module that knows ``public_key`` says about it."""
        for spec in self._specs.values():
            if spec.resolve_key is not None:
                standing = spec.resolve_key(state, public_key)
                if standing is not None:
                    return standing
        return None


def default_registry() -> ModuleRegistry:
    """Return the registry of the modules this release ships."""
    from amchain.modules import consortium, credentials, identity, vehicles

    return ModuleRegistry([consortium.SPEC, identity.SPEC, vehicles.SPEC, credentials.SPEC])
