"""Handlers of the ``tokens`` module, by topic: transfers and allowances, issuance of
settlement tokens, AMCT's pools (with the block hook), and genesis.

Each handler validates, authorises, changes state and emits events, in that order. A handler
may write and then raise: the runtime drops every change of a failed transaction.
"""

from amchain.modules.tokens.handlers.genesis import dev_genesis, init_genesis
from amchain.modules.tokens.handlers.issuance import (
    burn,
    check_burn,
    check_create_denomination,
    check_mint,
    create_denomination,
    mint,
    roles_create_denomination,
)
from amchain.modules.tokens.handlers.pools import (
    approve_release,
    check_approve_release,
    check_execute_release,
    check_propose_release,
    check_release_pool,
    end_block,
    execute_release,
    pay_reward,
    propose_release,
    release_from_pool,
    release_pool,
)
from amchain.modules.tokens.handlers.transfers import (
    approve,
    check_approve,
    check_transfer,
    check_transfer_from,
    move,
    pay,
    transfer,
    transfer_from,
)

__all__ = [
    "approve",
    "approve_release",
    "burn",
    "check_approve",
    "check_approve_release",
    "check_burn",
    "check_create_denomination",
    "check_execute_release",
    "check_mint",
    "check_propose_release",
    "check_release_pool",
    "check_transfer",
    "check_transfer_from",
    "create_denomination",
    "dev_genesis",
    "end_block",
    "execute_release",
    "init_genesis",
    "mint",
    "move",
    "pay",
    "pay_reward",
    "propose_release",
    "release_from_pool",
    "release_pool",
    "roles_create_denomination",
    "transfer",
    "transfer_from",
]
