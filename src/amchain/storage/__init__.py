"""Storage: the SQLite block store (blocks, receipts, state and indexes, one commit per block)."""

from amchain.storage.sqlite import BlockStore, StorageError, StoredBlock, StoredTx

__all__ = ["BlockStore", "StorageError", "StoredBlock", "StoredTx"]
