"""A small asynchronous etcd v3 client over etcd's JSON gateway (``/v3/...``) with httpx.

Why not a gRPC client: the Python etcd v3 clients either are unmaintained and pin old
protobuf releases (``etcd3``) or bring grpcio and generated stubs for the handful of calls
used here (``aetcd``). etcd serves the same v3 API as JSON over HTTP (the grpc-gateway,
``/v3/kv/range``, ``/v3/kv/txn``, ``/v3/watch``, ``/v3/lease/*``), and httpx is already a
dependency. Keys and values travel base64-encoded; 64-bit integers travel as strings.

Every call has a short timeout and fails over to the next endpoint on a connection error,
a timeout or a 5xx, so a dead member costs one timeout, never a hang. When no member can
answer (quorum lost), :class:`EtcdUnavailable` is raised.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx


class EtcdUnavailable(RuntimeError):
    """No etcd member answered (all down, or the cluster has no quorum)."""


class EtcdCompacted(RuntimeError):
    """A watch asked for history that etcd has compacted away."""

    def __init__(self, compact_revision: int) -> None:
        super().__init__(f"etcd history before revision {compact_revision} is compacted")
        self.compact_revision = compact_revision


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str | None) -> bytes:
    return base64.b64decode(text) if text else b""


def prefix_end(prefix: bytes) -> bytes:
    """The smallest key after every key starting with ``prefix`` (etcd's range_end)."""
    end = bytearray(prefix)
    for i in range(len(end) - 1, -1, -1):
        if end[i] < 0xFF:
            end[i] += 1
            return bytes(end[: i + 1])
    return b"\x00"


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: bytes
    value: bytes
    create_revision: int
    mod_revision: int
    lease: int


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """A put (``deleted`` False) or a delete of ``kv.key`` at ``kv.mod_revision``."""

    kv: KeyValue
    deleted: bool


def _kv(raw: dict[str, Any]) -> KeyValue:
    return KeyValue(
        key=_unb64(raw.get("key")),
        value=_unb64(raw.get("value")),
        create_revision=int(raw.get("create_revision", 0)),
        mod_revision=int(raw.get("mod_revision", 0)),
        lease=int(raw.get("lease", 0)),
    )


@dataclass(frozen=True, slots=True)
class Compare:
    """A txn guard. ``create_revision == 0`` on a key means: the key does not exist."""

    key: bytes
    target: str  # CREATE, MOD, VERSION, VALUE, LEASE
    value: int | bytes
    result: str = "EQUAL"

    def to_json(self) -> dict[str, Any]:
        field = {
            "CREATE": "create_revision",
            "MOD": "mod_revision",
            "VERSION": "version",
            "VALUE": "value",
            "LEASE": "lease",
        }[self.target]
        value = _b64(self.value) if isinstance(self.value, bytes) else str(self.value)
        return {"key": _b64(self.key), "target": self.target, "result": self.result, field: value}


def put_op(key: bytes, value: bytes, *, lease: int = 0) -> dict[str, Any]:
    op: dict[str, Any] = {"key": _b64(key), "value": _b64(value)}
    if lease:
        op["lease"] = str(lease)
    return {"request_put": op}


def range_op(key: bytes) -> dict[str, Any]:
    return {"request_range": {"key": _b64(key)}}


class EtcdClient:
    """Calls to the etcd cluster at ``endpoints`` (``http://host:port``), with failover."""

    def __init__(self, endpoints: Sequence[str], *, timeout_s: float = 2.0) -> None:
        if not endpoints:
            raise ValueError("at least one etcd endpoint is needed")
        self.endpoints = [e.rstrip("/") for e in endpoints]
        self.timeout_s = timeout_s
        self._preferred = 0
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=min(1.0, timeout_s)),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
        )
        self.last_error = ""
        self.last_ok = 0.0  # monotonic time of the last call a member answered

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(
        self, path: str, body: dict[str, Any], *, timeout_s: float | None = None
    ) -> Any:
        """POST ``body`` to ``path`` on the preferred endpoint, then each other one."""
        errors: list[str] = []
        count = len(self.endpoints)
        timeout = self.timeout_s if timeout_s is None else timeout_s
        for step in range(count):
            index = (self._preferred + step) % count
            endpoint = self.endpoints[index]
            try:
                response = await self._http.post(endpoint + path, json=body, timeout=timeout)
            except httpx.HTTPError as exc:
                errors.append(f"{endpoint}: {type(exc).__name__}")
                continue
            if response.status_code >= 500 or response.status_code == 429:
                errors.append(f"{endpoint}: {response.status_code} {response.text[:200]}")
                continue
            if response.status_code != 200:
                raise RuntimeError(f"etcd {path} refused: {response.status_code} {response.text}")
            self._preferred = index
            self.last_ok = time.monotonic()
            return response.json()
        self.last_error = "; ".join(errors)
        raise EtcdUnavailable(f"no etcd member answered {path}: {self.last_error}")

    # -- kv -------------------------------------------------------------------------------
    async def get(self, key: bytes) -> KeyValue | None:
        """Return the key's current value (a linearizable read), or None."""
        kvs, _ = await self.range(key)
        return kvs[0] if kvs else None

    async def range(
        self,
        key: bytes,
        range_end: bytes | None = None,
        *,
        limit: int = 0,
        descending: bool = False,
        keys_only: bool = False,
        count_only: bool = False,
        timeout_s: float | None = None,
    ) -> tuple[list[KeyValue], int]:
        """Return the key-values in ``[key, range_end)`` and the store's revision."""
        body: dict[str, Any] = {"key": _b64(key)}
        if range_end is not None:
            body["range_end"] = _b64(range_end)
        if limit:
            body["limit"] = str(limit)
        if descending:
            body["sort_order"] = "DESCEND"
            body["sort_target"] = "KEY"
        if keys_only:
            body["keys_only"] = True
        if count_only:
            body["count_only"] = True
        answer = await self._call("/v3/kv/range", body, timeout_s=timeout_s)
        revision = int(answer.get("header", {}).get("revision", 0))
        return [_kv(raw) for raw in answer.get("kvs", [])], revision

    async def put(self, key: bytes, value: bytes, *, lease: int = 0) -> int:
        body: dict[str, Any] = {"key": _b64(key), "value": _b64(value)}
        if lease:
            body["lease"] = str(lease)
        answer = await self._call("/v3/kv/put", body)
        return int(answer.get("header", {}).get("revision", 0))

    async def delete_range(self, key: bytes, range_end: bytes | None = None) -> int:
        body: dict[str, Any] = {"key": _b64(key)}
        if range_end is not None:
            body["range_end"] = _b64(range_end)
        answer = await self._call("/v3/kv/deleterange", body)
        return int(answer.get("deleted", 0))

    async def txn(
        self,
        compare: list[Compare],
        success: list[dict[str, Any]],
        failure: list[dict[str, Any]] | None = None,
    ) -> tuple[bool, int, list[Any]]:
        """Run a transaction; return (succeeded, revision, responses)."""
        body = {
            "compare": [c.to_json() for c in compare],
            "success": success,
            "failure": failure or [],
        }
        answer = await self._call("/v3/kv/txn", body)
        revision = int(answer.get("header", {}).get("revision", 0))
        return bool(answer.get("succeeded", False)), revision, answer.get("responses", [])

    async def compact(self, revision: int) -> None:
        """Discard history before ``revision`` (keys and their current values stay)."""
        try:
            await self._call("/v3/kv/compaction", {"revision": str(revision), "physical": False})
        except RuntimeError as exc:
            if "compacted" not in str(exc):  # already compacted further: nothing to do
                raise

    # -- leases ---------------------------------------------------------------------------
    async def grant_lease(self, ttl_s: int) -> int:
        answer = await self._call("/v3/lease/grant", {"TTL": str(ttl_s)})
        return int(answer["ID"])

    async def keep_alive(self, lease: int) -> int:
        """Refresh a lease once; return its remaining TTL (0 or less: it has expired)."""
        answer = await self._call("/v3/lease/keepalive", {"ID": str(lease)})
        result = answer.get("result", answer)
        return int(result.get("TTL", 0))

    async def revoke_lease(self, lease: int) -> None:
        await self._call("/v3/lease/revoke", {"ID": str(lease)})

    # -- cluster --------------------------------------------------------------------------
    async def member_status(self, endpoint: str) -> dict[str, Any]:
        """Return one member's status (``leader``, ``header.member_id``, ``raftTerm`` …)."""
        response = await self._http.post(
            endpoint.rstrip("/") + "/v3/maintenance/status", json={}, timeout=self.timeout_s
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    # -- watch ----------------------------------------------------------------------------
    async def watch(
        self, key: bytes, range_end: bytes | None, *, start_revision: int
    ) -> AsyncIterator[list[WatchEvent]]:
        """Yield batches of events on ``[key, range_end)`` from ``start_revision`` on.

        Ends (returns) when the stream breaks; the caller re-watches from the revision after
        the last event it saw. Raises :class:`EtcdCompacted` if that history is gone and
        :class:`EtcdUnavailable` if no member accepts the watch.
        """
        request: dict[str, Any] = {"key": _b64(key), "start_revision": str(start_revision)}
        if range_end is not None:
            request["range_end"] = _b64(range_end)
        body = {"create_request": request}
        errors: list[str] = []
        count = len(self.endpoints)
        delivered = False
        for step in range(count):
            index = (self._preferred + step) % count
            endpoint = self.endpoints[index]
            try:
                async with self._http.stream(
                    "POST",
                    endpoint + "/v3/watch",
                    json=body,
                    timeout=httpx.Timeout(None, connect=1.0),
                ) as response:
                    if response.status_code != 200:
                        errors.append(f"{endpoint}: {response.status_code}")
                        continue
                    async for line in response.aiter_lines():
                        if not line.strip():
                            continue
                        message = json.loads(line)
                        if "error" in message:
                            return
                        result = message.get("result", {})
                        compacted = int(result.get("compact_revision", 0) or 0)
                        if compacted:
                            raise EtcdCompacted(compacted)
                        if result.get("canceled"):
                            return
                        events = result.get("events")
                        if events:
                            delivered = True
                            yield [
                                WatchEvent(_kv(e.get("kv", {})), e.get("type") == "DELETE")
                                for e in events
                            ]
                    return
            except httpx.HTTPError as exc:
                if delivered:
                    return  # broke mid-stream: the caller re-watches after what it saw
                errors.append(f"{endpoint}: {type(exc).__name__}")
        raise EtcdUnavailable(f"no etcd member accepted a watch: {'; '.join(errors)}")
