"""Handlers of the ``sharing`` module: the group, its sessions and bills
(:mod:`.group`), and its k-of-n decisions (:mod:`.decisions`).

Each handler validates, authorises, changes state and emits events, in that order.
"""

from amchain.modules.sharing.handlers.decisions import approve, execute, propose
from amchain.modules.sharing.handlers.group import (
    bill,
    check_bill,
    check_create_group,
    create_group,
    end_session,
    lien_reference,
    split_bill,
    start_session,
)

__all__ = [
    "approve",
    "bill",
    "check_bill",
    "check_create_group",
    "create_group",
    "end_session",
    "execute",
    "lien_reference",
    "propose",
    "split_bill",
    "start_session",
]
