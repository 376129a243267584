"""RFC 9457 problem details, with the ledger's ``codespace`` and ``code`` on every refusal."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from amchain.codec import DecodeError, DecodeErrorCode
from amchain.ledger import LedgerError, TxCode
from amchain.modules.base import ProofCode

PROBLEM_MEDIA_TYPE = "application/problem+json"

_DECODE_STATUS = {
    DecodeErrorCode.TOO_LARGE: 413,
    DecodeErrorCode.UNKNOWN_FIELD: 422,
    DecodeErrorCode.MISSING_FIELD: 422,
    DecodeErrorCode.WRONG_TYPE: 422,
    DecodeErrorCode.INVALID_VALUE: 422,
}

_TX_STATUS: dict[int, int] = {
    TxCode.UNKNOWN_SIGNER: 403,
    TxCode.REVOKED_KEY: 403,
    TxCode.ROLE_NOT_ALLOWED: 403,
    TxCode.REPLAYED: 409,
    TxCode.QUOTA_EXCEEDED: 429,
    TxCode.UNKNOWN_MODULE: 404,
    TxCode.UNKNOWN_MESSAGE: 404,
    TxCode.INTERNAL: 500,
}

_PROOF_STATUS: dict[int, tuple[int, str]] = {
    ProofCode.HEIGHT_NOT_COMMITTED: (404, "Height not committed"),
    ProofCode.HEIGHT_NOT_RETAINED: (410, "Height not retained"),
    ProofCode.NOT_PROVABLE: (422, "Not provable"),
}


class ApiProblem(Exception):
    """Raised by endpoints to answer with a problem document (``headers``: sent with it)."""

    def __init__(
        self,
        status: int,
        codespace: str,
        code: int,
        title: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.codespace = codespace
        self.code = code
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def problem_body(
    status: int, codespace: str, code: int, title: str, detail: str, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"https://amchain.dev/problems/{codespace}/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "codespace": codespace,
        "code": code,
    }
    body.update(extra)
    return body


def problem_response(problem: ApiProblem) -> JSONResponse:
    return JSONResponse(
        problem_body(
            problem.status,
            problem.codespace,
            problem.code,
            problem.title,
            problem.detail,
            **problem.extra,
        ),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=problem.headers or None,
    )


def status_for(error: LedgerError | DecodeError) -> int:
    """HTTP status for a refusal: 4xx for every kind of bad input."""
    if isinstance(error, DecodeError):
        return _DECODE_STATUS.get(error.code, 400)
    if error.codespace == "tx":
        return _TX_STATUS.get(error.code, 400)  # IntEnum keys match plain ints
    if error.codespace == "proof":
        return _PROOF_STATUS.get(error.code, (422, ""))[0]
    return 422  # a module refused the request


def title_for(error: LedgerError | DecodeError) -> str:
    if isinstance(error, DecodeError):
        return error.code.name.replace("_", " ").capitalize()
    if error.codespace == "tx":
        try:
            return TxCode(error.code).name.replace("_", " ").capitalize()
        except ValueError:
            return "Transaction refused"
    if error.codespace == "proof":
        return _PROOF_STATUS.get(error.code, (0, "Not provable"))[1]
    return f"Refused by {error.codespace}"


def problem_from_error(
    error: LedgerError | DecodeError, *, status: int | None = None, **extra: Any
) -> ApiProblem:
    details = getattr(error, "details", None)
    if details:
        extra.setdefault("details", details)
    return ApiProblem(
        status or status_for(error),
        error.codespace,
        int(error.code),
        title_for(error),
        error.message,
        **extra,
    )


async def read_body(request: Request, limit: int) -> bytes:
    """Read a request's body, refusing one larger than ``limit`` bytes before reading it all.

    Raises:
        ApiProblem: 413 (codec TOO_LARGE), 400 (api 8: the connection closed first).
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiProblem(
            413,
            "codec",
            int(DecodeErrorCode.TOO_LARGE),
            "Too large",
            f"request body of {declared} bytes exceeds {limit} bytes",
        )
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiProblem(
                    413,
                    "codec",
                    int(DecodeErrorCode.TOO_LARGE),
                    "Too large",
                    f"request body exceeds {limit} bytes",
                )
            chunks.append(chunk)
    except ClientDisconnect:
        # The client left (or was cut off for sending too slowly): nobody reads the answer.
        raise ApiProblem(
            400, "api", 8, "Body incomplete", "the connection closed before the body arrived"
        ) from None
    return b"".join(chunks)
