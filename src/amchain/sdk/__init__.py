"""Python SDK of AutoMobile Chain: clients, a transaction builder and signers.

Quick start::

    from amchain.sdk import Client, Signer

    with Client("http://127.0.0.1:8640") as client:
        oem = Signer.for_org(oem_keypair, "oem")
        result = client.vehicles.register(oem, vin="1HGCM82633A004352", make="Honda",
                                          model="Accord", model_year=2003)
        print(result.hash, result.height)

:class:`Client` (``httpx.Client``) and :class:`AsyncClient` (``httpx.AsyncClient``) have the
same methods, each written once as a sans-IO step that both drive; configuration is
keyword-only; ``transport=`` swaps the network out (e.g. ``httpx.MockTransport``).
:func:`build_tx` builds and signs a transaction offline. A submission the node answers
with 503 (a consortium's ordering service electing a leader, a full mempool: nothing was
admitted) is sent again after its ``Retry-After``, for up to 15 s, before it raises.

Any module, including ones this SDK has no helper for, through the node's catalog
(``GET /v1/modules``)::

    client.tx("vehicles", "record_event", {"vin": VIN, "event": {...}}, signers=[registry])
    client.query("vehicles", "history", vin=VIN)

Exceptions::

    AmchainError                 base of everything the SDK raises
     ├── ApiError                the node answered with application/problem+json:
     │                           .status .codespace .code .detail .details .problem
     │                           (.recorded_on_chain for a committed-but-refused tx)
     ├── TransportError          the node cannot be reached or timed out (.url)
     └── TxBuildError            a transaction cannot be built locally (also a ValueError)
"""

from amchain.sdk._async_client import AsyncClient
from amchain.sdk._builder import build_tx
from amchain.sdk._catalog import (
    FieldInfo,
    MessageInfo,
    ModuleCatalog,
    ModuleInfo,
    QueryInfo,
    describe_fields,
    resolve_schema,
    schema_variants,
    without_null,
)
from amchain.sdk._client import Client
from amchain.sdk._core import DEFAULT_BASE_URL
from amchain.sdk._errors import AmchainError, ApiError, TransportError, TxBuildError
from amchain.sdk._models import BlockEvent, NodeStatus, SubmitResult, TxInfo
from amchain.sdk._signer import Signer, did_for_key

__all__ = [
    "DEFAULT_BASE_URL",
    "AmchainError",
    "ApiError",
    "AsyncClient",
    "BlockEvent",
    "Client",
    "FieldInfo",
    "MessageInfo",
    "ModuleCatalog",
    "ModuleInfo",
    "NodeStatus",
    "QueryInfo",
    "Signer",
    "SubmitResult",
    "TransportError",
    "TxBuildError",
    "TxInfo",
    "build_tx",
    "describe_fields",
    "did_for_key",
    "resolve_schema",
    "schema_variants",
    "without_null",
]
