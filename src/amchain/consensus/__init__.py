"""Ordering adapters: ``solo`` (embedded, the node cuts its own blocks) and ``etcd`` (a
consortium orders blocks through an etcd cluster; see :mod:`amchain.consensus.etcd`)."""

from typing import Protocol

from amchain.consensus.signer_quota import QuotaExceeded, SignerQuota
from amchain.consensus.solo import MempoolFull, SoloOrderer
from amchain.ledger import Transaction


class Orderer(Protocol):
    """What the node needs from an ordering adapter."""

    def __len__(self) -> int: ...

    def knows(self, tx_hash: bytes) -> bool:
        """True if the transaction waits to be ordered (or is being ordered)."""
        ...

    def add(self, tx: Transaction) -> bool:
        """Queue an admitted transaction; False if already queued. Raises MempoolFull or
        QuotaExceeded."""
        ...

    async def run(self) -> None: ...

    def stop(self) -> None: ...


__all__ = ["MempoolFull", "Orderer", "QuotaExceeded", "SignerQuota", "SoloOrderer"]
