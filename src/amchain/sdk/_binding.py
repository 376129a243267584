"""Helper methods made from steps: each typed helper is written once, as a step, and both
clients' helper classes list it, one line each (``register = sync_method(steps.register)``).

A step function takes the client's :class:`ClientState` first; the method made from it takes
everything after, with the same names, defaults and types (``inspect.signature`` and type
checkers see them), and runs the step on its client, with or without ``await``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from amchain.sdk._core import ClientState, Step

__all__ = ["AsyncHelper", "SyncHelper", "async_method", "sync_method"]

P = ParamSpec("P")
T = TypeVar("T")


class _SyncRun(Protocol):
    def __call__(self, step: Step[T], /) -> T: ...


class _AsyncRun(Protocol):
    def __call__(self, step: Step[T], /) -> Awaitable[T]: ...


class SyncHelper:
    """A module's helpers on a synchronous client (``client.vehicles``, …)."""

    def __init__(self, run: _SyncRun, state: ClientState) -> None:
        self._run = run
        self._state = state

    def _call(
        self, step: Callable[Concatenate[ClientState, P], Step[T]], *args: Any, **kwargs: Any
    ) -> T:
        return self._run(step(self._state, *args, **kwargs))


class AsyncHelper:
    """A module's helpers on an asynchronous client."""

    def __init__(self, run: _AsyncRun, state: ClientState) -> None:
        self._run = run
        self._state = state

    async def _call(
        self, step: Callable[Concatenate[ClientState, P], Step[T]], *args: Any, **kwargs: Any
    ) -> T:
        return await self._run(step(self._state, *args, **kwargs))


def _dress(method: Callable[..., Any], step: Callable[..., Any]) -> None:
    """Give ``method`` the step's name, docstring and signature (without the state)."""
    signature = inspect.signature(step)
    parameters = list(signature.parameters.values())[1:]
    this = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    method.__signature__ = signature.replace(parameters=[this, *parameters])  # type: ignore[attr-defined]
    method.__name__ = step.__name__
    method.__qualname__ = step.__name__
    method.__doc__ = step.__doc__


def sync_method(
    step: Callable[Concatenate[ClientState, P], Step[T]],
) -> Callable[Concatenate[SyncHelper, P], T]:
    """The synchronous helper method that runs ``step``."""

    def method(self: SyncHelper, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._call(step, *args, **kwargs)

    _dress(method, step)
    return method


def async_method(
    step: Callable[Concatenate[ClientState, P], Step[T]],
) -> Callable[Concatenate[AsyncHelper, P], Awaitable[T]]:
    """The asynchronous helper method that runs ``step``."""

    async def method(self: AsyncHelper, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._call(step, *args, **kwargs)

    _dress(method, step)
    return method
