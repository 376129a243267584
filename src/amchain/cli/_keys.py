"""``amchain keys …`` (the local keystore) and ``amchain did …`` (DIDs on chain)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from amchain.cli._common import (
    AsOpt,
    DataDirOpt,
    JsonOpt,
    NodeOpt,
    client,
    console,
    handle_errors,
    open_keystore,
    print_json,
    print_submit,
    signer_from,
    signer_named,
    usage_error,
    want_json,
)
from amchain.crypto import KeyPair
from amchain.sdk import Signer

__all__ = ["did_app", "keys_app"]

keys_app = typer.Typer(help="Named keys in the local keystore.", no_args_is_help=True)
did_app = typer.Typer(help="Decentralised identifiers (did:amc).", no_args_is_help=True)


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


# -- did ------------------------------------------------------------------------------------


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
