"""``amchain vehicle transfer`` and ``vehicle history``: the vehicles module's messages and
queries where people need more than the commands its CLI hints give (``vehicle register``,
``vehicle event`` and ``vehicle show`` come from those, :mod:`amchain.cli._generic`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from amchain.cli._common import (
    DataDirOpt,
    JsonOpt,
    NodeOpt,
    client,
    console,
    handle_errors,
    open_keystore,
    print_json,
    print_submit,
    signer_named,
    usage_error,
    want_json,
)

__all__ = ["vehicle_app"]

vehicle_app = typer.Typer(help="Vehicles and their life history.", no_args_is_help=True)


def _time(ms: int | None) -> str:
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


@vehicle_app.command("transfer")
@handle_errors
def vehicle_transfer(
    vin: Annotated[str, typer.Argument(help="The vehicle's VIN.")],
    as_: Annotated[str, typer.Option("--as", help="Keystore name of the current owner's key.")],
    to: Annotated[
        str | None,
        typer.Option(
            "--to", help="New owner: a DID, or a keystore name (default: the cosigner's DID)."
        ),
    ] = None,
    cosigner: Annotated[
        str | None,
        typer.Option("--cosigner", help="Keystore name of the new owner's key (must co-sign)."),
    ] = None,
    odometer_km: Annotated[int | None, typer.Option("--odometer-km", min=0)] = None,
    node: NodeOpt = None,
    data_dir: DataDirOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Private ownership transfer: signed by the current owner and the new owner."""
    keystore = open_keystore(data_dir)
    seller = signer_named(keystore, as_)
    buyer = signer_named(keystore, cosigner, "--cosigner") if cosigner else None
    if to is not None and not to.startswith("did:"):
        named = signer_named(keystore, to, "--to")
        if named.did is None:
            usage_error(f"key {to!r} has no DID yet; create one with `amchain did create`", "--to")
        to = named.did
    new_owner = to or (buyer.did if buyer else None)
    if new_owner is None:
        usage_error(
            "give the new owner's DID with --to (or the new owner's key with --cosigner)", "--to"
        )
    event: dict[str, Any] = {"type": "ownership_transferred", "new_owner": new_owner}
    if odometer_km is not None:
        event["odometer_km"] = odometer_km
    signers = [seller] + ([buyer] if buyer else [])
    with client(node) as c:
        result = c.tx(
            "vehicles", "record_event", {"vin": vin.upper(), "event": event}, signers=signers
        )
    print_submit(result, as_json=want_json(json_), extra={"vin": vin.upper(), "owner": new_owner})


def _short(value: str, n: int = 24) -> str:
    return value if len(value) <= n else value[: n - 1] + "…"


# What `vehicle history --out` saves: the proven part of a `?proof=true` answer.
_HISTORY_BUNDLE_FIELDS = (
    "format", "kind", "chain_id", "height", "certificate", "vin", "record", "events",
)  # fmt: skip


@vehicle_app.command("history")
@handle_errors
def vehicle_history(
    vin: Annotated[str, typer.Argument(help="The vehicle's VIN.")],
    proof: Annotated[
        bool, typer.Option("--proof", help="Ask for a proof that the history is complete.")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Save the proof bundle to this file (implies --proof)."),
    ] = None,
    node: NodeOpt = None,
    json_: JsonOpt = False,
) -> None:
    """A vehicle's life history in order, with flags (refused odometer rollbacks included)."""
    with client(node) as c:
        history = c.query("vehicles", "history", vin=vin, proof=proof or out is not None)
    bundle = {key: history[key] for key in _HISTORY_BUNDLE_FIELDS if key in history}
    if out is not None:
        try:
            out.write_text(json.dumps(bundle, indent=2, ensure_ascii=False) + "\n")
        except OSError as exc:
            usage_error(f"cannot write {out}: {exc.strerror or exc}", "--out")
    if want_json(json_):
        print_json(history)
        return
    title = (
        f"{history.get('vin')} · {history.get('make')} {history.get('model')} "
        f"{history.get('model_year')}"
    )
    table = Table(title=title)
    table.add_column("seq", justify="right", min_width=3)
    table.add_column("time (UTC)", min_width=10)
    table.add_column("type", min_width=9)
    table.add_column("odometer km", justify="right", min_width=8)
    table.add_column("recorded by", overflow="fold", min_width=8)
    table.add_column("details", overflow="fold")
    for entry in history.get("events", []):
        fields = {
            k: v
            for k, v in (entry.get("fields") or {}).items()
            if v is not None and k != "odometer_km"
        }
        details = _short(", ".join(f"{k}={_short(str(v))}" for k, v in fields.items()), 90)
        odo = entry.get("odometer_km")
        table.add_row(
            str(entry.get("seq")),
            _time(entry.get("time_ms")),
            entry.get("type", ""),
            "" if odo is None else f"{odo:,}",
            entry.get("recorded_by", ""),
            details,
        )
    console.print(table)
    flags = history.get("flags", {})
    accidents = flags.get("accidents", {})
    count = accidents.get("count", 0) if isinstance(accidents, dict) else accidents
    console.print(
        f"owners        {flags.get('owners_count', 0)}  (current: {flags.get('owner', '-')})",
        markup=False,
    )
    console.print(f"accidents     {count}", markup=False)
    console.print(f"stolen        {'YES' if flags.get('stolen') else 'no'}", markup=False)
    recalls = flags.get("open_recalls") or []
    console.print(f"open recalls  {', '.join(recalls) if recalls else 'none'}", markup=False)
    console.print(
        f"odometer      {flags.get('last_odometer_km', 0):,} km, "
        f"{'consistent' if flags.get('odometer_consistent') else 'INCONSISTENT'}",
        markup=False,
    )
    console.print(
        f"complete      {'yes (hash chain verified)' if flags.get('complete') else 'NO'}",
        markup=False,
    )
    rollbacks = flags.get("refused_odometer_rollbacks") or []
    if rollbacks:
        console.print(f"[bold red]refused odometer rollbacks: {len(rollbacks)}[/]")
        for attempt in rollbacks:
            who = ", ".join(
                w.get("org") or w.get("did") or w.get("public_key", "?")[:16]
                for w in attempt.get("tried_by", [])
            )
            console.print(
                f"  {_time(attempt.get('time_ms'))}  by {who}: {attempt.get('attempted_km'):,} km "
                f"< last {attempt.get('last_km'):,} km  (tx {attempt.get('tx_hash', '')[:16]}…, "
                f"height {attempt.get('height')})",
                markup=False,
            )
    console.print(f"[bold]summary:[/] {history.get('summary', '')}")
    if out is not None:
        console.print(
            f"proof bundle saved to {out} ({len(history.get('events', []))} events, "
            f"certified at height {bundle.get('height')}); check it with: amchain verify {out}",
            markup=False,
            soft_wrap=True,
        )
