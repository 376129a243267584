"""The ``amchain`` command: node, keys, DIDs, vehicles, transactions, benchmarks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.panel import Panel
from rich.table import Table

from amchain.cli._bench import bench
from amchain.cli._cluster import cluster_app, node_app
from amchain.cli._common import (
    DataDirOpt,
    JsonOpt,
    NodeOpt,
    Settings,
    client,
    console,
    handle_errors,
    open_keystore,
    print_json,
    print_submit,
    set_settings,
    signer_from,
    signer_named,
    usage_error,
    want_json,
)
from amchain.cli._credentials import access_app, unlock, vc_app
from amchain.cli._events import EventInputError, build_event
from amchain.crypto import KeyPair
from amchain.node import DEFAULT_PORT
from amchain.sdk import Signer

app = typer.Typer(
    name="amchain",
    help="AutoMobile Chain: a consortium ledger for vehicle identity and life history.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(help="Named keys in the local keystore.", no_args_is_help=True)
did_app = typer.Typer(help="Decentralised identifiers (did:amc).", no_args_is_help=True)
vehicle_app = typer.Typer(help="Vehicles and their life history.", no_args_is_help=True)
tx_app = typer.Typer(help="Transactions.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(did_app, name="did")
app.add_typer(vehicle_app, name="vehicle")
app.add_typer(tx_app, name="tx")
app.add_typer(node_app, name="node")
app.add_typer(cluster_app, name="cluster")
app.add_typer(vc_app, name="vc")
app.add_typer(access_app, name="access")
vehicle_app.command("unlock")(handle_errors(unlock))
app.command("bench")(bench)

AsOpt = Annotated[str, typer.Option("--as", help="Keystore name of the signing key.")]


@app.callback()
def _global(
    node: NodeOpt = None,
    data_dir: DataDirOpt = None,
    json_: JsonOpt = False,
) -> None:
    """AutoMobile Chain command line. Start a chain with `amchain up`."""
    set_settings(Settings(node=node, data_dir=data_dir, json=json_))


def _time(ms: int | None) -> str:
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


# -- up ---------------------------------------------------------------------------------------


@app.command()
def up(
    data_dir: DataDirOpt = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="API port.")] = DEFAULT_PORT,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    demo: Annotated[bool, typer.Option("--demo", help="Simulate vehicle traffic.")] = False,
    demo_vehicles: Annotated[
        int, typer.Option("--demo-vehicles", min=1, max=10_000, help="Vehicles the demo makes.")
    ] = 12,
    admission_processes: Annotated[
        int | None,
        typer.Option(
            "--admission-processes",
            min=0,
            help="Worker processes that parse and check transactions (default: one per core; "
            "0: threads in the node process).",
        ),
    ] = None,
) -> None:
    """Run a single-node development chain with the REST API (and optional demo traffic)."""
    from amchain.cli._up import run_up

    run_up(
        data_dir=data_dir,
        host=host,
        port=port,
        demo=demo,
        demo_vehicles=demo_vehicles,
        admission_processes=admission_processes,
    )


# -- status -----------------------------------------------------------------------------------


@app.command()
@handle_errors
def status(node: NodeOpt = None, json_: JsonOpt = False) -> None:
    """Show the chain head and the node."""
    with client(node) as c:
        st = c.status()
    if want_json(json_):
        print_json(st.raw)
        return
    table = Table(show_header=False, box=None)
    table.add_row("chain id", st.chain_id)
    table.add_row("height", str(st.height))
    table.add_row("latest block", f"{st.latest_block_hash}  ({_time(st.latest_block_time_ms)})")
    table.add_row("state root", st.state_root)
    table.add_row("pending txs", str(st.pending_txs))
    table.add_row("ordering", st.ordering)
    table.add_row("node key", st.node_key)
    table.add_row("modules", ", ".join(st.modules))
    table.add_row("version", st.version)
    table.add_row("api", c.base_url)
    console.print(Panel(table, title="AutoMobile Chain", expand=False))


# -- keys -------------------------------------------------------------------------------------


@keys_app.command("list")
@handle_errors
def keys_list(data_dir: DataDirOpt = None, json_: JsonOpt = False) -> None:
    """List the keystore's keys."""
    keystore = open_keystore(data_dir)
    entries = [s.public_dict() for s in keystore.all()]
    if want_json(json_):
        print_json({"keystore": str(keystore.path), "keys": entries})
        return
    table = Table(title=f"keystore {keystore.path}")
    for column in ("name", "org", "did", "public key"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(entry["name"], entry["org"] or "", entry["did"] or "", entry["public_key"])
    console.print(table)


@keys_app.command("new")
@handle_errors
def keys_new(
    name: Annotated[str, typer.Argument(help="Name of the new key.")],
    data_dir: DataDirOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Generate a key and store it in the keystore under NAME."""
    keystore = open_keystore(data_dir)
    if name in keystore.names():
        usage_error(f"a key named {name!r} already exists", "NAME")
    stored = keystore.add(name, KeyPair.generate())
    signer = signer_from(stored)
    if want_json(json_):
        print_json({**stored.public_dict(), "did_of_key": signer.did})
        return
    console.print(f"new key [bold]{name}[/]")
    console.print(f"  public key  {stored.key.public_key.hex()}")
    console.print(
        f"  its DID     {signer.did} (not on chain until "
        f"`amchain did create --as dealer --name {name}`)"
    )


# -- did --------------------------------------------------------------------------------------


def _next_person_name(names: list[str]) -> str:
    n = 1
    while f"person-{n}" in names:
        n += 1
    return f"person-{n}"


@did_app.command("create")
@handle_errors
def did_create(
    sponsor: AsOpt,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            help="Keystore name of the new key (default person-<n>); an "
            "existing key without a DID is used as is.",
        ),
    ] = None,
    node: NodeOpt = None,
    data_dir: DataDirOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Create a DID for a new key, sponsored by a consortium member (both sign)."""
    keystore = open_keystore(data_dir)
    sponsor_signer = signer_named(keystore, sponsor)
    name = name or _next_person_name(keystore.names())
    existing = keystore.get(name) if name in keystore.names() else None
    if existing is not None and (existing.did or existing.org):
        usage_error(f"key {name!r} already has DID {existing.did}", "--name")
    key = existing.key if existing is not None else KeyPair.generate()
    new_signer = Signer(key)
    with client(node) as c:
        result = c.identity.create_did(sponsor_signer, new_signer)
    if existing is None:
        keystore.add(name, key, did=new_signer.did)
    else:
        keystore.update(name, did=new_signer.did)
    if want_json(json_):
        print_json({**result.raw, "did": new_signer.did, "name": name})
        return
    print_submit(result, as_json=False)
    console.print(f"DID [bold]{new_signer.did}[/] (key [bold]{name}[/])")


@did_app.command("resolve")
@handle_errors
def did_resolve(
    did: Annotated[str, typer.Argument(help="The DID to resolve.")],
    node: NodeOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Resolve a DID to its DID document."""
    with client(node) as c:
        result = c.resolve_did(did)
    if want_json(json_):
        print_json(result)
        return
    doc = result.get("didDocument", result)
    console.print(f"[bold]{doc.get('id', did)}[/]")
    table = Table("key id", "type", "public key", "purposes")
    purposes = [
        p
        for p in (
            "authentication",
            "assertionMethod",
            "keyAgreement",
            "capabilityInvocation",
            "capabilityDelegation",
        )
        if p in doc
    ]
    for method in doc.get("verificationMethod", []):
        mid = method.get("id", "")
        uses = [p for p in purposes if mid in doc.get(p, [])]
        table.add_row(
            mid,
            method.get("type", ""),
            method.get("publicKeyMultibase", method.get("publicKeyHex", "")),
            ", ".join(uses),
        )
    console.print(table)
    if doc.get("service"):
        console.print_json(json.dumps(doc["service"]))
    meta = result.get("didDocumentMetadata")
    if meta:
        console.print("metadata: " + json.dumps(meta), markup=False)


# -- vehicles ---------------------------------------------------------------------------------


@vehicle_app.command("register")
@handle_errors
def vehicle_register(
    vin: Annotated[str, typer.Argument(help="17-character VIN (ISO 3779).")],
    make: Annotated[str, typer.Option("--make")],
    model: Annotated[str, typer.Option("--model")],
    year: Annotated[int, typer.Option("--year", help="Model year.")],
    as_: AsOpt,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Owner DID (default: the manufacturer).")
    ] = None,
    vehicle_key: Annotated[
        str | None, typer.Option("--vehicle-key", help="Hex public key of the OBU.")
    ] = None,
    plant: Annotated[str | None, typer.Option("--plant")] = None,
    battery_id: Annotated[str | None, typer.Option("--battery-id")] = None,
    node: NodeOpt = None,
    data_dir: DataDirOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Register a vehicle leaving the line (an OEM key signs)."""
    signer = signer_named(open_keystore(data_dir), as_)
    with client(node) as c:
        result = c.vehicles.register(
            signer,
            vin=vin,
            make=make,
            model=model,
            model_year=year,
            owner=owner,
            vehicle_key=vehicle_key,
            plant=plant,
            battery_id=battery_id,
        )
    print_submit(result, as_json=want_json(json_), extra={"vin": vin.upper()})


@vehicle_app.command("event")
@handle_errors
def vehicle_event(
    vin: Annotated[str, typer.Argument(help="The vehicle's VIN.")],
    event_type: Annotated[
        str, typer.Argument(metavar="TYPE", help="Event type (odometer, serviced, accident, …).")
    ],
    as_: AsOpt,
    odometer_km: Annotated[int | None, typer.Option("--odometer-km", min=0)] = None,
    field: Annotated[
        list[str] | None,
        typer.Option("--field", help="NAME=VALUE, typed by the event's schema; repeat as needed."),
    ] = None,
    cosigner: Annotated[
        list[str] | None, typer.Option("--cosigner", help="More signers (keystore names).")
    ] = None,
    node: NodeOpt = None,
    data_dir: DataDirOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Record a typed lifecycle event on a vehicle's history."""
    try:
        event = build_event(event_type, field or [], odometer_km=odometer_km)
    except EventInputError as exc:
        raise typer.BadParameter(str(exc)) from None
    keystore = open_keystore(data_dir)
    signers = [signer_named(keystore, as_)]
    signers += [signer_named(keystore, n, "--cosigner") for n in cosigner or []]
    with client(node) as c:
        result = c.vehicles.record_event(signers, vin.upper(), event)
    print_submit(result, as_json=want_json(json_), extra={"vin": vin.upper()})


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
        result = c.vehicles.record_event(signers, vin.upper(), event)
    print_submit(result, as_json=want_json(json_), extra={"vin": vin.upper(), "owner": new_owner})


@vehicle_app.command("show")
@handle_errors
def vehicle_show(
    vin: Annotated[str, typer.Argument(help="The vehicle's VIN.")],
    node: NodeOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Show a vehicle's current record."""
    with client(node) as c:
        record = c.get_vehicle(vin)
    if want_json(json_):
        print_json(record)
        return
    table = Table(show_header=False, box=None)
    for key in (
        "vin",
        "did",
        "make",
        "model",
        "model_year",
        "manufacturer",
        "owner",
        "owners_count",
        "status",
        "last_odometer_km",
        "accidents",
        "open_recalls",
        "event_count",
        "history_head",
        "registered_height",
        "plant",
        "battery_id",
    ):
        if key in record and record[key] is not None:
            value = record[key]
            table.add_row(key, ", ".join(value) if isinstance(value, list) else str(value))
    console.print(Panel(table, title=f"vehicle {record.get('vin', vin)}", expand=False))


# -- verify -----------------------------------------------------------------------------------


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="Proof bundle (JSON) to check.")],
    peer_key: Annotated[
        list[str] | None,
        typer.Option("--peer-key", help="Trusted peer public key (hex); repeatable."),
    ] = None,
    peers_file: Annotated[
        Path | None,
        typer.Option(
            "--peers-file", help="File of trusted peer keys (JSON list/object or one per line)."
        ),
    ] = None,
    quorum: Annotated[
        int | None,
        typer.Option("--quorum", min=1, help="Signatures required (default: a majority)."),
    ] = None,
    chain_id: Annotated[
        str | None, typer.Option("--chain-id", help="Accept only this chain's records.")
    ] = None,
    data_dir: DataDirOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Check a saved proof bundle offline: exit 0 if it verifies, 1 with the reason if not.

    With no --peer-key/--peers-file, the local node's key (from the data dir) is trusted.
    """
    from amchain.cli._common import data_dir as resolve_data_dir
    from amchain.cli._verify import run_verify

    run_verify(
        file=file,
        peer_keys=peer_key or [],
        peers_file=peers_file,
        quorum=quorum,
        chain_id=chain_id,
        data_dir=resolve_data_dir(data_dir),
        as_json=want_json(json_),
    )


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
        history = c.get_history(vin, proof=proof or out is not None)
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


# -- tx ---------------------------------------------------------------------------------------


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


def main() -> None:
    """Entry point of the ``amchain`` console script."""
    app()
