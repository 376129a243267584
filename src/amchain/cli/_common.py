"""Shared plumbing of the CLI: options, the keystore, output and error mapping."""

from __future__ import annotations

import functools
import gc
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from amchain.node import Keystore, KeystoreError, StoredKey, default_data_dir
from amchain.sdk import (
    DEFAULT_BASE_URL,
    ApiError,
    Client,
    Signer,
    SubmitResult,
    TransportError,
    TxBuildError,
)

EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

NodeOpt = Annotated[
    str | None,
    typer.Option(
        "--node",
        help="URL of the node's API (env: AMCHAIN_NODE).",
        show_default=DEFAULT_BASE_URL,
    ),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        file_okay=False,
        help="Data dir holding the keystore (env: AMCHAIN_DATA_DIR).",
        show_default="~/.amchain",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine JSON instead of tables.")]
AsOpt = Annotated[str, typer.Option("--as", help="Keystore name of the signing key.")]


@dataclass
class Settings:
    """Global options (``amchain --node URL --data-dir DIR …``); per-command ones win."""

    node: str | None = None
    data_dir: Path | None = None
    json: bool = False


_settings = Settings()


def set_settings(value: Settings) -> None:
    """Record the global options (called by the root callback on every invocation)."""
    global _settings
    _settings = value


def settings() -> Settings:
    return _settings


def node_url(node: str | None) -> str:
    return node or settings().node or os.environ.get("AMCHAIN_NODE") or DEFAULT_BASE_URL


def data_dir(path: Path | None) -> Path:
    chosen = path or settings().data_dir
    return Path(chosen).expanduser() if chosen else default_data_dir()


def want_json(flag: bool) -> bool:
    return flag or settings().json


def client(node: str | None) -> Client:
    return Client(node_url(node), timeout=30.0)


def open_keystore(path: Path | None) -> Keystore:
    directory = data_dir(path)
    try:
        return Keystore(directory)
    except KeystoreError as exc:
        fail(str(exc))


def signer_from(stored: StoredKey) -> Signer:
    did = stored.did or (f"did:amc:org:{stored.org}" if stored.org else None)
    return Signer(stored.key, did=did, name=stored.name)


def signer_named(keystore: Keystore, name: str, option: str = "--as") -> Signer:
    try:
        return signer_from(keystore.get(name))
    except KeystoreError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def usage_error(message: str, option: str | None = None) -> NoReturn:
    raise typer.BadParameter(message, param_hint=option)


def fail(message: str, code: int = EXIT_REFUSED) -> NoReturn:
    err_console.print(f"[bold red]error[/]: {message}", markup=True)
    raise typer.Exit(code)


def print_json(data: Any) -> None:
    # plain print: machine output must not be wrapped or coloured
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def report_api_error(exc: ApiError) -> None:
    err_console.print(
        f"error {exc.codespace}/{exc.code}: {exc.detail or exc.title}", markup=False, soft_wrap=True
    )
    details = exc.details
    if details:
        err_console.print(
            "details: " + json.dumps(details, ensure_ascii=False), markup=False, soft_wrap=True
        )
    if exc.recorded_on_chain:
        err_console.print(
            f"(the refused transaction {exc.tx_hash} is recorded on chain at height {exc.height})",
            markup=False,
            soft_wrap=True,
        )


F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Map SDK errors to exit codes: refused → 1, unreachable → 3."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ApiError as exc:
            report_api_error(exc)
            raise typer.Exit(EXIT_REFUSED) from None
        except TransportError as exc:
            err_console.print(f"error: {exc}", markup=False, soft_wrap=True)
            raise typer.Exit(EXIT_UNREACHABLE) from None
        except (TxBuildError, KeystoreError) as exc:
            err_console.print(f"error: {exc}", markup=False, soft_wrap=True)
            raise typer.Exit(EXIT_REFUSED) from None

    return wrapper  # type: ignore[return-value]


def print_submit(
    result: SubmitResult, *, as_json: bool, extra: dict[str, Any] | None = None
) -> None:
    """Print a submitted transaction's outcome: hash, height and result."""
    if as_json:
        print_json({**result.raw, **(extra or {})})
        return
    if result.committed:
        console.print(f"[green]✔ committed[/] at height [bold]{result.height}[/]")
    else:
        console.print(
            f"[yellow]… {result.status}[/] (not committed yet; "
            f"check with `amchain tx show {result.hash}`)"
        )
    console.print(f"  tx     {result.hash}")
    for event in result.events:
        attrs = ", ".join(f"{k}={v}" for k, v in (event.get("attributes") or {}).items())
        console.print(f"  event  {event.get('type')}  {attrs}", markup=False)
    for key, value in (extra or {}).items():
        console.print(f"  {key:<6} {value}", markup=False)


def tune_gc_for_a_long_running_node() -> None:
    """Set the cyclic garbage collector for a node or peer serving until stopped.

    Profiled at ~8 % of a peer's CPU with the defaults. What start-up loaded (code, the
    app, the node) is frozen out of every collection, and the youngest generation is
    collected every 20,000 allocations instead of 700, so the objects that live for a block
    (its transactions, receipts, tree paths) are mostly gone before a collection looks at
    them instead of being promoted and scanned again. Memory is reclaimed by reference
    counting as before; only cycles wait a little longer.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)
