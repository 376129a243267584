"""Ordering adapters: ``solo`` (embedded, the node cuts its own blocks). ``etcd`` comes next."""

from amchain.consensus.solo import MempoolFull, SoloOrderer

__all__ = ["MempoolFull", "SoloOrderer"]
