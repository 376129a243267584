"""A development chain: one organisation per role, named after it, with keys in the keystore."""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path

from amchain.codec import to_builtins
from amchain.crypto import KeyPair
from amchain.modules.base import ROLES, GenesisMember
from amchain.node.config import NodeConfig
from amchain.node.keystore import Keystore
from amchain.runtime import Genesis, ModuleRegistry, make_genesis


def write_json_atomically(path: Path, data: object, *, mode: int = 0o644) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def create_dev_chain(config: NodeConfig, registry: ModuleRegistry) -> Genesis:
    """Write genesis, keystore and node key for a new development chain in ``config.data_dir``.

    Every module of ``registry`` with a genesis section gets its default for the chain's
    members: one organisation per role, named after it, its admin key in the keystore.

    Raises:
        FileExistsError: the data dir already holds a genesis.
    """
    if config.genesis_path.exists():
        raise FileExistsError(f"{config.genesis_path} already exists")
    config.data_dir.mkdir(parents=True, exist_ok=True)
    keystore = Keystore(config.data_dir)
    members = []
    existing = keystore.names()
    for role in ROLES:
        if role in existing:
            key = keystore.get(role).key
        else:
            key = keystore.add(role, KeyPair.generate(), org=role, did=f"did:amc:org:{role}").key
        members.append(
            GenesisMember(
                id=role,
                name=f"Demo {role.replace('_', ' ')}",
                roles=(role,),
                admin_keys=(key.public_key.hex(),),
            )
        )
    # A suffix of its own per dev chain, so a transaction signed for one can never be
    # replayed on another (the chain id is in every signed body).
    now_ms = time.time_ns() // 1_000_000
    genesis = make_genesis(
        registry,
        chain_id=f"{config.chain_id}-{secrets.token_hex(3)}",
        genesis_time_ms=now_ms if config.genesis_time_ms is None else config.genesis_time_ms,
        members=members,
    )
    node_key = KeyPair.generate()
    write_json_atomically(config.node_key_path, {"seed": node_key.seed.hex()}, mode=0o600)
    write_json_atomically(config.genesis_path, to_builtins(genesis))
    return genesis


def load_node_key(config: NodeConfig) -> KeyPair:
    data = json.loads(config.node_key_path.read_text())
    return KeyPair.from_seed(bytes.fromhex(data["seed"]))
