"""The keystore: named Ed25519 keys in the data dir, so the CLI can act ``--as <name>``.

A development convenience: seeds are stored unencrypted (file mode 0600). Production
operators keep keys in their own HSM or vault and sign with the SDK.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from amchain.crypto import KeyPair

KEYSTORE_FILE = "keystore.json"
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class KeystoreError(ValueError):
    """A key name that is unknown, taken or malformed, or an unreadable keystore."""


@dataclass(frozen=True, slots=True)
class StoredKey:
    name: str
    key: KeyPair
    org: str | None = None
    did: str | None = None

    def public_dict(self) -> dict[str, str | None]:
        return {
            "name": self.name,
            "public_key": self.key.public_key.hex(),
            "org": self.org,
            "did": self.did,
        }


class Keystore:
    """Named keys in ``<data_dir>/keystore.json``."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / KEYSTORE_FILE
        self._keys: dict[str, StoredKey] = {}
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            raw = json.loads(self.path.read_text())
            keys = {
                name: StoredKey(
                    name=name,
                    key=KeyPair.from_seed(bytes.fromhex(entry["seed"])),
                    org=entry.get("org"),
                    did=entry.get("did"),
                )
                for name, entry in raw["keys"].items()
            }
        except (ValueError, KeyError, TypeError) as exc:
            raise KeystoreError(f"cannot read keystore {self.path}: {exc}") from exc
        self._keys = keys

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # Two processes (the demo inside `amchain up`, a CLI command) may add keys at once:
        # hold an exclusive lock, re-read, change, write, so neither loses the other's key.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self._load()
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def names(self) -> list[str]:
        return sorted(self._keys)

    def all(self) -> list[StoredKey]:
        return [self._keys[n] for n in self.names()]

    def get(self, name: str) -> StoredKey:
        try:
            return self._keys[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise KeystoreError(
                f"no key named {name!r} in {self.path} (known: {known}); "
                "create one with `amchain keys new NAME`"
            ) from None

    def find_by_did(self, did: str) -> StoredKey | None:
        for stored in self._keys.values():
            if stored.did == did:
                return stored
        return None

    def add(
        self, name: str, key: KeyPair, *, org: str | None = None, did: str | None = None
    ) -> StoredKey:
        if not _NAME.match(name):
            raise KeystoreError("key names are 1-64 characters of letters, digits, '.', '_', '-'")
        with self._locked():
            if name in self._keys:
                raise KeystoreError(f"a key named {name!r} already exists in {self.path}")
            stored = StoredKey(name=name, key=key, org=org, did=did)
            self._keys[name] = stored
            self._save()
        return stored

    def update(self, name: str, *, did: str | None = None) -> StoredKey:
        with self._locked():
            old = self.get(name)
            stored = StoredKey(name=name, key=old.key, org=old.org, did=did if did else old.did)
            self._keys[name] = stored
            self._save()
        return stored

    def _save(self) -> None:
        data = {
            "version": 1,
            "keys": {
                name: {
                    "public_key": s.key.public_key.hex(),
                    "seed": s.key.seed.hex(),
                    "org": s.org,
                    "did": s.did,
                }
                for name, s in sorted(self._keys.items())
            },
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
