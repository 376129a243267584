"""``amchain tx show HASH``: a transaction's status, body and receipt."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.panel import Panel
from rich.table import Table

from amchain.cli._common import (
    JsonOpt,
    NodeOpt,
    client,
    console,
    handle_errors,
    print_json,
    want_json,
)
from amchain.cli._generic import tx_app

__all__ = ["tx_show"]


def _time(ms: int | None) -> str:
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


@tx_app.command("show")
@handle_errors
def tx_show(
    tx_hash: Annotated[str, typer.Argument(metavar="HASH", help="Transaction hash (hex).")],
    node: NodeOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Show a transaction's status, body and receipt."""
    with client(node) as c:
        info = c.get_tx(tx_hash)
    if want_json(json_):
        print_json(info.raw)
        return
    table = Table(show_header=False, box=None)
    table.add_row("hash", info.hash)
    table.add_row("status", info.status)
    if info.height is not None:
        table.add_row("height", f"{info.height} (index {info.index})")
    body = (info.transaction or {}).get("body", {})
    if body:
        table.add_row("call", f"{body.get('module')}.{body.get('message')}")
        table.add_row("signers", "\n".join(body.get("signers", [])))
        table.add_row("expires", _time(body.get("expires_at_ms")))
        table.add_row("args", json.dumps(body.get("args"), ensure_ascii=False))
    receipt = info.receipt or {}
    if receipt:
        if receipt.get("ok"):
            table.add_row("result", "[green]ok[/]")
        else:
            table.add_row(
                "result",
                f"[red]refused {receipt.get('codespace')}/"
                f"{receipt.get('code')}[/]: {receipt.get('message')}",
            )
        for event in receipt.get("events", []):
            table.add_row("event", f"{event.get('type')} {json.dumps(event.get('attributes'))}")
    if info.error is not None and not receipt:
        table.add_row("error", f"{info.error.codespace}/{info.error.code}: {info.error.detail}")
    console.print(Panel(table, title="transaction", expand=False))
