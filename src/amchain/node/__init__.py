"""The node: configuration, keystore, development chain and the running peer."""

from amchain.node.config import DEFAULT_PORT, NodeConfig, default_data_dir
from amchain.node.keystore import Keystore, KeystoreError, StoredKey
from amchain.node.node import CommittedBlock, Head, Node, NodeUnavailable, SubmitOutcome

__all__ = [
    "DEFAULT_PORT",
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
