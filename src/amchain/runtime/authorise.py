"""Permission: are the signers known, active, and do they hold a role the message needs?"""

from __future__ import annotations

from typing import Any

from amchain.codec import convert
from amchain.ledger import StateReader, Transaction, TxCode, TxError
from amchain.modules.base import KeyStanding, KeyStatus, MessageSpec
from amchain.runtime.registry import ModuleRegistry


def decode_args(spec: MessageSpec[Any], tx: Transaction) -> Any:
    """Type the transaction's arguments with the message's args struct.

    Raises:
        amchain.codec.DecodeError: unknown, missing or mistyped argument fields.
    """
    return convert(tx.body.args, spec.args_type, what=f"{tx.body.module}.{tx.body.message} args")


def authorise_signers(
    registry: ModuleRegistry,
    state: StateReader,
    tx: Transaction,
    spec: MessageSpec[Any],
    args: Any,
) -> tuple[KeyStanding | None, ...]:
    """Resolve every signer and check the message's role rule.

    A signer must be an active key the chain knows, or a key the message itself introduces
    (proof of possession). At least one signer must be a key the chain knows: a key is
    introduced only under an authority the chain already has (a DID's controller, an
    organisation's admin, a sponsoring member), so a stranger's key cannot get a
    transaction, not even a failed receipt, onto the chain. If the message names roles, at
    least one signer must be an active consortium key of an organisation holding one of
    them.

    Raises:
        TxError: UNKNOWN_SIGNER, REVOKED_KEY or ROLE_NOT_ALLOWED.
    """
    introduced = set(spec.introduced_keys(args))
    standings: list[KeyStanding | None] = []
    for index, key in enumerate(tx.signer_keys):
        standing = registry.resolve_key(state, key)
        if standing is None:
            if key not in introduced:
                raise TxError(
                    TxCode.UNKNOWN_SIGNER,
                    f"signer {index} ({key.hex()}) is not a key registered on this chain",
                )
        elif standing.status != KeyStatus.ACTIVE:
            raise TxError(
                TxCode.REVOKED_KEY,
                f"signer {index} ({key.hex()}) was revoked and can no longer sign",
            )
        standings.append(standing)
    if all(standing is None for standing in standings):
        raise TxError(
            TxCode.UNKNOWN_SIGNER,
            "no signer is a key registered on this chain: a new key is added only together "
            "with a signature of a key the chain knows (the DID's controller, the "
            "organisation's admin or a sponsoring member)",
        )
    needed = spec.roles(args)
    if needed:
        held = {role for s in standings if s is not None and s.org is not None for role in s.roles}
        if not held.intersection(needed):
            raise TxError(
                TxCode.ROLE_NOT_ALLOWED,
                f"{tx.body.module}.{tx.body.message} needs a signer with role "
                f"{' or '.join(needed)}; the signers hold {', '.join(sorted(held)) or 'no role'}",
            )
    return tuple(standings)
