"""Storage: the SQLite block store (blocks, receipts, state and indexes, one commit per block).

- :mod:`.block_store`: :class:`BlockStore`, the one write path and the reads.
- :mod:`.schema`: the file's layout and the upgrade of older files.
- :mod:`.tree_packs`: how state-tree nodes are stored in packs, and their cached reader.
- :mod:`.checkpointer`: the background WAL checkpointer.
- :mod:`.connection`: connections and the IN-list helper.
"""

from amchain.storage.block_store import BlockStore, StateView, StoredBlock, StoredTx
from amchain.storage.errors import StorageError

__all__ = ["BlockStore", "StateView", "StorageError", "StoredBlock", "StoredTx"]
