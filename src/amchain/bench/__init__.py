"""The benchmark suite behind ``amchain bench WORKLOAD``.

Workloads: ``ingest``, ``verify-limit``, ``history``, ``scale``, ``vs-ganache``. Each returns
a :class:`Report` that prints as a table and is written as JSON to ``bench/results/``.
Figures, commands and what limits each are in ``bench/RESULTS.md``.
"""

from amchain.bench._process import NodeProcess, NodeStartError, free_port
from amchain.bench._report import Figure, Report

__all__ = ["Figure", "NodeProcess", "NodeStartError", "Report", "free_port"]
