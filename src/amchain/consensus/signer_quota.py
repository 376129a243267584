"""How much one signer may have waiting to be ordered.

A signer with a place on the chain can still try to fill blocks (and, with refusals, the
chain's failed receipts) with its own transactions. Each orderer counts, per transaction's
first signer, the transactions and bytes waiting, and refuses more past the quota until
blocks drain them: every other signer keeps its room in the mempool and in the blocks.
"""

from __future__ import annotations

from amchain.ledger import Transaction

__all__ = ["QuotaExceeded", "SignerQuota"]


class QuotaExceeded(RuntimeError):
    """This signer has its quota of transactions waiting; it should retry after a block."""


class SignerQuota:
    """Counts of waiting transactions and bytes per first signer, within limits."""

    def __init__(self, *, max_txs: int, max_bytes: int) -> None:
        self.max_txs = max_txs
        self.max_bytes = max_bytes
        self._txs: dict[bytes, int] = {}
        self._bytes: dict[bytes, int] = {}

    def reserve(self, tx: Transaction) -> None:
        """Count ``tx`` as waiting.

        Raises:
            QuotaExceeded: its signer already has ``max_txs`` transactions or ``max_bytes``
                bytes waiting.
        """
        signer = tx.signer_keys[0]
        count = self._txs.get(signer, 0)
        size = self._bytes.get(signer, 0)
        if count >= self.max_txs or size + len(tx.canonical) > self.max_bytes:
            raise QuotaExceeded(
                f"signer {signer.hex()} has {count} transactions ({size} bytes) waiting to be "
                f"ordered, its quota is {self.max_txs} transactions and {self.max_bytes} "
                "bytes; send more once blocks have taken these"
            )
        self._txs[signer] = count + 1
        self._bytes[signer] = size + len(tx.canonical)

    def release(self, tx: Transaction) -> None:
        """``tx`` stopped waiting (taken into a block, dropped or forgotten)."""
        signer = tx.signer_keys[0]
        count = self._txs.get(signer, 0) - 1
        if count <= 0:
            self._txs.pop(signer, None)
            self._bytes.pop(signer, None)
            return
        self._txs[signer] = count
        self._bytes[signer] = self._bytes[signer] - len(tx.canonical)

    def waiting(self, signer: bytes) -> tuple[int, int]:
        """Transactions and bytes of ``signer`` waiting now."""
        return self._txs.get(signer, 0), self._bytes.get(signer, 0)
