"""The node: configuration, keystore, development chain and the running peer.

- :mod:`.node`: :class:`Node`, the solo peer (the consortium peer builds on it,
  :mod:`.cluster`).
- :mod:`.block_writer`: :class:`BlockWriter`, the one path blocks take to storage.
- :mod:`.intake`: admission of submitted transactions; :mod:`.admission_pool` its worker
  processes.
- :mod:`.commit_waiters`: waiting for commits and following blocks.
- :mod:`.devnet`, :mod:`.localnet`: a development chain, a local consortium.
"""

from amchain.node.block_writer import BlockWriter, CommittedBlock, Head
from amchain.node.config import DEFAULT_PORT, NodeConfig, default_data_dir
from amchain.node.intake import NodeUnavailable, SubmitOutcome
from amchain.node.keystore import Keystore, KeystoreError, StoredKey
from amchain.node.node import Node

__all__ = [
    "DEFAULT_PORT",
    "BlockWriter",
    "CommittedBlock",
    "Head",
    "Keystore",
    "KeystoreError",
    "Node",
    "NodeConfig",
    "NodeUnavailable",
    "StoredKey",
    "SubmitOutcome",
    "default_data_dir",
]
