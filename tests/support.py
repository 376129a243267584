"""Test support: run a real node and API server in a background thread; sign transactions."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from amchain.api import create_app, server_config
from amchain.bench import free_port
from amchain.crypto import KeyPair
from amchain.explorer import mount_explorer
from amchain.ledger import Transaction, make_body, sign_transaction
from amchain.node import Keystore, Node, NodeConfig


def sign_tx(
    chain_id: str,
    signers: list[KeyPair],
    module: str,
    message: str,
    args: dict[str, Any],
    *,
    expires_in_ms: int = 600_000,
    nonce: int | None = None,
) -> Transaction:
    """Build and sign a transaction the way any client would."""
    body = make_body(
        chain_id=chain_id,
        signers=[k.public_key for k in signers],
        nonce=secrets.randbelow(2**53) if nonce is None else nonce,
        expires_at_ms=time.time_ns() // 1_000_000 + expires_in_ms,
        module=module,
        message=message,
        args=args,
    )
    return sign_transaction(body, signers)


@dataclass
class RunningNode:
    url: str
    node: Node
    keystore: Keystore
    data_dir: Path

    @property
    def chain_id(self) -> str:
        return self.node.chain_id

    def key(self, name: str) -> KeyPair:
        return self.keystore.get(name).key

    def tx(
        self,
        signers: list[KeyPair],
        module: str,
        message: str,
        args: dict[str, Any],
        *,
        chain_id: str | None = None,
        expires_in_ms: int = 600_000,
        nonce: int | None = None,
    ) -> Transaction:
        return sign_tx(
            chain_id or self.chain_id,
            signers,
            module,
            message,
            args,
            expires_in_ms=expires_in_ms,
            nonce=nonce,
        )

    def post(self, tx: Transaction | dict[str, Any], *, wait: bool = True) -> httpx.Response:
        payload = tx.to_wire() if isinstance(tx, Transaction) else tx
        params = {"wait": "commit"} if wait else {}
        return httpx.post(f"{self.url}/v1/txs", json=payload, params=params, timeout=30)

    def post_raw(self, body: bytes, *, wait: bool = True) -> httpx.Response:
        params = {"wait": "commit"} if wait else {}
        return httpx.post(
            f"{self.url}/v1/txs",
            content=body,
            params=params,
            timeout=30,
            headers={"content-type": "application/json"},
        )

    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", params=params, timeout=30)


@contextmanager
def start_node(data_dir: Path, **config: Any) -> Iterator[RunningNode]:
    """Open a dev chain in ``data_dir`` and serve it on a free port until the block ends."""
    port = free_port()
    cfg = NodeConfig(data_dir=data_dir, port=port, **{"max_block_wait_ms": 20, **config})
    node = Node.open(cfg)
    app = create_app(node, manage_node=True)
    mount_explorer(app)
    server = uvicorn.Server(server_config(app, host="127.0.0.1", port=port))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test node did not start")
        time.sleep(0.02)
    try:
        yield RunningNode(f"http://127.0.0.1:{port}", node, Keystore(data_dir), data_dir)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
