"""``amchain verify FILE``: check a saved proof bundle offline against trusted peer keys."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from amchain.cli._common import EXIT_REFUSED, EXIT_USAGE, console, err_console, print_json
from amchain.node import NodeConfig
from amchain.node.devnet import load_node_key
from amchain.sdk.light import LightClient, ProofError


def read_peers_file(path: Path) -> tuple[list[str], int | None]:
    """Read trusted peer keys: a JSON list of hex keys, a JSON object ``{"peers": [...],
    "quorum": n}``, or plain text with one hex key per line (``#`` starts a comment).

    Raises:
        ValueError: the file cannot be read or holds no keys.
    """
    try:
        text = path.read_text()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    quorum: int | None = None
    stripped = text.strip()
    if stripped.startswith(("[", "{")):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not valid JSON: {exc}") from None
        if isinstance(data, dict):
            quorum = data.get("quorum")
            data = data.get("peers", [])
        if not isinstance(data, list) or not all(isinstance(k, str) for k in data):
            raise ValueError(f"{path}: peers must be a list of hex public keys")
        keys = list(data)
    else:
        keys = [line.split("#", 1)[0].strip() for line in text.splitlines()]
        keys = [k for k in keys if k]
    if not keys:
        raise ValueError(f"{path} lists no peer keys")
    if quorum is not None and not isinstance(quorum, int):
        raise ValueError(f"{path}: quorum must be an integer")
    return keys, quorum


def run_verify(
    *,
    file: Path,
    peer_keys: list[str],
    peers_file: Path | None,
    quorum: int | None,
    chain_id: str | None,
    data_dir: Path,
    as_json: bool,
) -> None:
    """Verify ``file`` and exit 0 (verified), 1 (refused, with the reason) or 2 (usage)."""

    def usage(message: str) -> typer.Exit:
        err_console.print(f"error: {message}", markup=False, soft_wrap=True)
        return typer.Exit(EXIT_USAGE)

    keys = list(peer_keys)
    file_quorum: int | None = None
    if peers_file is not None:
        try:
            more, file_quorum = read_peers_file(peers_file)
        except ValueError as exc:
            raise usage(str(exc)) from None
        keys.extend(more)
    if not keys:
        config = NodeConfig(data_dir=data_dir)
        if not config.node_key_path.exists():
            raise usage(
                "no trusted peer keys: pass --peer-key HEX (repeatable) or --peers-file FILE"
            )
        keys = [load_node_key(config).public_key.hex()]
        err_console.print(
            f"trusting the local node's key {keys[0][:16]}… from {config.node_key_path} "
            "(pass --peer-key or --peers-file to trust other peers)",
            markup=False,
            soft_wrap=True,
        )
    try:
        light = LightClient(trusted_peers=keys, quorum=quorum or file_quorum, chain_id=chain_id)
    except ValueError as exc:
        raise usage(str(exc)) from None
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise usage(f"cannot read {file}: {exc.strerror or exc}") from None
    try:
        result = light.verify_bundle(data)
    except ProofError as error:
        if as_json:
            print_json(
                {
                    "verified": False,
                    "codespace": "proof",
                    "code": int(error.code),
                    "reason": error.message,
                }
            )
        err_console.print(
            f"NOT VERIFIED — error proof/{int(error.code)}: {error.message}",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_REFUSED) from None
    record = result.record
    if as_json:
        print_json(
            {
                "verified": True,
                "kind": result.kind,
                "summary": result.summary,
                "chain_id": record.chain_id,
                "height": record.height,
                "state_root": record.state_root,
                "signers": result.signers,
                "quorum": light.quorum,
                **result.facts,
            }
        )
        return
    console.print(f"[bold green]verified[/]: {result.summary}")
    console.print(
        f"certified by {len(result.signers)} of {len(light.trusted_peers)} trusted peer(s) "
        f"(quorum {light.quorum}) · chain {record.chain_id} · height {record.height} · "
        f"state root {record.state_root[:16]}…",
        markup=False,
        soft_wrap=True,
    )


__all__ = ["EXIT_REFUSED", "read_peers_file", "run_verify"]
