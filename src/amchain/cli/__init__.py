"""The ``amchain`` command line (typer + rich): ``amchain up``, keys, DIDs, vehicles, txs.

Exit codes: 0 success, 1 refused by the node (``error <codespace>/<code>: <message>`` on
stderr), 2 usage error, 3 node unreachable.
"""

from amchain.cli._app import app, main

__all__ = ["app", "main"]
