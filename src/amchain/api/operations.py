"""Operations endpoints: ``/metrics`` (Prometheus text), ``/healthz`` and ``/readyz``.

- ``/healthz``: the process answers (liveness; a load balancer restarts it otherwise).
- ``/readyz``: it can take transactions now (ready for traffic): its orderer runs and, for
  a consortium peer, etcd answers and the peer is not halted. 503 with the reason if not.
- ``/metrics``: the node's counters and gauges, read at scrape time (``prometheus-client``:
  the exposition format Prometheus itself defines and parses).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from amchain.node import Node
from amchain.node.cluster import ClusterNode
from amchain.node.metrics import Histogram

__all__ = ["operations_router"]


def _histogram(name: str, documentation: str, histogram: Histogram) -> HistogramMetricFamily:
    return HistogramMetricFamily(
        name,
        documentation,
        buckets=[(le, float(count)) for le, count in histogram.cumulative()],
        sum_value=histogram.total,
    )


class NodeCollector:
    """Reads the node's metrics at each scrape (a ``prometheus_client`` collector)."""

    def __init__(self, node: Node) -> None:
        self._node = node

    def collect(self) -> Iterator[Metric]:
        node = self._node
        metrics = node.metrics
        head = node.head
        yield GaugeMetricFamily(
            "amchain_head_height", "Height of the latest committed block", value=head.height
        )
        yield GaugeMetricFamily(
            "amchain_mempool_txs", "Admitted transactions waiting to be ordered",
            value=node.pending_count(),
        )  # fmt: skip
        yield CounterMetricFamily(
            "amchain_txs_admitted", "Transactions admitted into the mempool",
            value=metrics.txs_admitted,
        )  # fmt: skip
        refused = CounterMetricFamily(
            "amchain_txs_refused",
            "Transactions refused at admission, by codespace and code",
            labels=["codespace", "code"],
        )
        for (codespace, code), count in metrics.refused_counts():
            refused.add_metric([codespace, str(code)], count)
        yield refused
        yield CounterMetricFamily(
            "amchain_blocks_committed", "Blocks committed by this node",
            value=metrics.blocks_committed,
        )  # fmt: skip
        yield CounterMetricFamily(
            "amchain_txs_committed", "Transactions in blocks committed by this node",
            value=metrics.txs_committed,
        )  # fmt: skip
        yield _histogram(
            "amchain_block_commit_seconds",
            "Executing and committing a block (a batch of blocks when catching up)",
            metrics.block_seconds,
        )
        yield _histogram(
            "amchain_block_interval_seconds",
            "Block time between consecutive blocks",
            metrics.block_interval_seconds,
        )
        if isinstance(node, ClusterNode):
            status = node.cluster_status()
            yield GaugeMetricFamily(
                "amchain_peer_lag_blocks", "Blocks ordered but not yet applied here",
                value=status["lag"],
            )  # fmt: skip
            yield GaugeMetricFamily(
                "amchain_final_height", "Highest height certified by a quorum",
                value=status["final_height"],
            )  # fmt: skip
            yield GaugeMetricFamily(
                "amchain_etcd_up", "1 if the ordering service (etcd) answers",
                value=1 if status["etcd_ok"] else 0,
            )  # fmt: skip
            yield GaugeMetricFamily(
                "amchain_peer_halted", "1 if this peer halted (it applies no more blocks)",
                value=1 if status["halted"] else 0,
            )  # fmt: skip


def readiness(node: Node) -> tuple[bool, str]:
    """Whether ``node`` can take transactions now, and if not why."""
    if node.orderer is None:
        return False, "the node is not producing blocks (starting or stopping)"
    if isinstance(node, ClusterNode):
        status = node.cluster_status()
        if status["halted"]:
            return False, f"this peer halted: {status['halt_reason']}"
        if not status["etcd_ok"]:
            return False, f"the ordering service (etcd) does not answer: {status['etcd_error']}"
    return True, "ready"


def operations_router(node: Node) -> APIRouter:
    router = APIRouter()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(node))

    @router.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics of this node",
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @router.get("/healthz", tags=["operations"], summary="Liveness: the process answers")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "height": node.head.height}

    @router.get(
        "/readyz",
        tags=["operations"],
        summary="Readiness: the node can take transactions now (503 with the reason if not)",
    )
    def readyz() -> JSONResponse:
        ready, reason = readiness(node)
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "reason": reason,
             "height": node.head.height},
            status_code=200 if ready else 503,
        )  # fmt: skip

    return router
