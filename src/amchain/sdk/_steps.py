"""Every call of the clients, written once as a step (see :mod:`amchain.sdk._core`).

Chain calls (status, blocks, transactions), the generic ``tx`` and ``query`` typed by the
node's module catalog, and the thin typed helpers of the ``vehicles``, ``identity`` and
``consortium`` modules (those of ``credentials`` are in :mod:`._credential_steps`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Literal
from urllib.parse import quote

import msgspec

from amchain.crypto import KeyPair
from amchain.ledger import Transaction
from amchain.sdk._builder import DEFAULT_EXPIRES_IN_MS, build_tx
from amchain.sdk._catalog import ModuleCatalog, query_request_parts
from amchain.sdk._core import (
    ClientState,
    Request,
    Step,
    WaitMode,
    decode_object,
    decode_response,
    encode_body,
    get_object,
    parse_submit,
    proof_params,
    retry_delay,
    submit_request,
)
from amchain.sdk._errors import TxBuildError
from amchain.sdk._models import NodeStatus, SubmitResult, TxInfo
from amchain.sdk._signer import Signer

__all__ = ["SignerLike", "Signers", "send"]

SignerLike = Signer | KeyPair
Signers = SignerLike | Sequence[SignerLike]


def _signer_list(signers: Signers) -> list[SignerLike]:
    if isinstance(signers, Signer | KeyPair):
        return [signers]
    return list(signers)


def _drop_none(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


# --- chain ----------------------------------------------------------------------------------


def status(state: ClientState) -> Step[NodeStatus]:
    answer = NodeStatus.from_json((yield from get_object("/v1/status")))
    state.chain_id = answer.chain_id
    return answer


def chain_id(state: ClientState) -> Step[str]:
    if state.chain_id is None:
        yield from status(state)
    assert state.chain_id is not None
    return state.chain_id


def modules(state: ClientState) -> Step[ModuleCatalog]:
    if state.modules is None:
        state.modules = ModuleCatalog((yield from get_object("/v1/modules")))
    catalog: ModuleCatalog = state.modules
    return catalog


def get_block(height: int | Literal["latest"]) -> Step[dict[str, Any]]:
    return (yield from get_object(f"/v1/blocks/{height if height == 'latest' else int(height)}"))


def submit(
    txs: Transaction | Sequence[Transaction], wait: WaitMode, timeout_ms: int
) -> Step[SubmitResult | list[SubmitResult]]:
    request, is_batch = submit_request(txs, wait, timeout_ms)
    response = yield request
    waited_s = 0.0
    while (delay := retry_delay(response, waited_s)) is not None:
        waited_s += delay
        response = yield dataclasses.replace(request, delay_s=delay)
    return parse_submit(response, is_batch)


def submit_one(tx: Transaction, wait: WaitMode, timeout_ms: int) -> Step[SubmitResult]:
    result = yield from submit(tx, wait, timeout_ms)
    assert isinstance(result, SubmitResult)
    return result


def get_tx(tx_hash: str, wait_commit: bool, timeout_ms: int) -> Step[TxInfo]:
    params: dict[str, Any] = {"wait": "commit", "timeout_ms": timeout_ms} if wait_commit else {}
    response = yield Request(
        "GET",
        f"/v1/txs/{quote(tx_hash, safe='')}",
        params,
        wait_ms=timeout_ms if wait_commit else None,
    )
    return TxInfo.from_json(decode_object(response))


def resolve_did(did: str, proof: bool) -> Step[dict[str, Any]]:
    return (yield from get_object(f"/v1/dids/{quote(did, safe=':')}", proof_params(proof, None)))


def organisations() -> Step[list[dict[str, Any]]]:
    return list((yield from get_object("/v1/organisations"))["organisations"])


def get_vehicle(vin: str) -> Step[dict[str, Any]]:
    return (yield from get_object(f"/v1/vehicles/{quote(vin, safe='')}"))


def get_history(vin: str, proof: bool, height: int | None) -> Step[dict[str, Any]]:
    path = f"/v1/vehicles/{quote(vin, safe='')}/history"
    return (yield from get_object(path, proof_params(proof, height)))


def get_state(key: str, proof: bool, height: int | None) -> Step[dict[str, Any]]:
    path = f"/v1/state/{quote(key, safe='/')}"
    return (yield from get_object(path, proof_params(proof, height)))


def list_blocks(before: int | None, limit: int) -> Step[dict[str, Any]]:
    params: dict[str, Any] = {"limit": limit}
    if before is not None:
        params["before"] = before
    return (yield from get_object("/v1/blocks", params))


def list_txs(
    *,
    height: int | None,
    did: str | None,
    vin: str | None,
    signer: str | None,
    module: str | None,
    failed_only: bool,
    limit: int,
) -> Step[list[dict[str, Any]]]:
    params: dict[str, Any] = {"limit": limit}
    for name, value in (
        ("height", height),
        ("did", did),
        ("vin", vin),
        ("signer", signer),
        ("module", module),
    ):
        if value is not None:
            params[name] = value
    if failed_only:
        params["failed_only"] = "true"
    return list((yield from get_object("/v1/txs", params))["txs"])


# --- generic: any module's messages and queries ----------------------------------------------


def tx(
    state: ClientState,
    module: str,
    message: str,
    args: Mapping[str, Any] | msgspec.Struct,
    *,
    signers: Signers,
    wait: WaitMode,
    timeout_ms: int,
    expires_in_ms: int = DEFAULT_EXPIRES_IN_MS,
    nonce: int | None = None,
) -> Step[SubmitResult]:
    """Check ``args`` against the message's schema, sign with ``signers``, submit.

    Raises:
        TxBuildError: no such module or message, or arguments the node would refuse.
        ApiError: the node refused the transaction.
    """
    catalog = yield from modules(state)
    info = catalog.message(module, message)
    plain = msgspec.to_builtins(args)
    if not isinstance(plain, dict):
        raise TxBuildError("args must be a JSON object")
    info.check(plain)
    signed = build_tx(
        chain_id=(yield from chain_id(state)),
        signers=_signer_list(signers),
        module=module,
        message=message,
        args=plain,
        expires_in_ms=expires_in_ms,
        nonce=nonce,
    )
    return (yield from submit_one(signed, wait, timeout_ms))


def query(
    state: ClientState,
    module: str,
    name: str,
    params: Mapping[str, Any],
    *,
    proof: bool = False,
    height: int | None = None,
) -> Step[Any]:
    """Ask a module's query with ``params`` (checked against its schema first).

    Raises:
        TxBuildError: no such module or query; parameters it does not take; a ``proof`` or
            ``height`` it does not offer.
        ApiError: the node refused the query (404: nothing matches).
    """
    catalog = yield from modules(state)
    info = catalog.query(module, name)
    if proof and info.proof != "on_request":
        raise TxBuildError(f"query {module}.{name} does not offer proofs on request")
    if height is not None and not info.historical:
        raise TxBuildError(f"query {module}.{name} answers at the head only")
    path, query_params, body = query_request_parts(info, params)
    info.check(body if body is not None else {k: v for k, v in params.items() if v is not None})
    query_params.update(proof_params(proof, height))
    response = yield Request(
        info.method,
        path,
        query_params,
        None if body is None else encode_body(body),
    )
    return decode_response(response)


def send(
    state: ClientState,
    module: str,
    message: str,
    args: dict[str, Any],
    signers: Signers,
    wait: WaitMode,
    timeout_ms: int,
) -> Step[SubmitResult]:
    """A typed helper's transaction: built and signed here, checked by the node."""
    signed = build_tx(
        chain_id=(yield from chain_id(state)),
        signers=_signer_list(signers),
        module=module,
        message=message,
        args=args,
    )
    return (yield from submit_one(signed, wait, timeout_ms))
