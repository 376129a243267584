"""The ``sharing`` module: shared ownership of a vehicle (EY Tesseract). A group of DIDs
holds it in basis-point shares; members drive it in sessions; bills from payees the group
authorised are split by its policy (by share, by usage, or a mix) and paid at once;
admitting a member, changing shares, selling and dissolving need k of n members — and the
group's lien on the vehicle makes any change of owner need them too.

See ``README.md`` for state layout, messages, events, errors and who may do what.
"""

from __future__ import annotations

from amchain.modules.base import CliCommand, MessageSpec, ModuleSpec, QuerySpec
from amchain.modules.sharing import handlers, queries
from amchain.modules.sharing.demo import demo_steps
from amchain.modules.sharing.errors import SharingCode, SharingError
from amchain.modules.sharing.handlers import lien_reference, split_bill
from amchain.modules.sharing.types import (
    ApproveArgs,
    BillArgs,
    CreateGroupArgs,
    EndSessionArgs,
    ExecuteArgs,
    Group,
    GroupBilled,
    GroupCreated,
    GroupParams,
    Member,
    Proposal,
    ProposalApproved,
    ProposalExecuted,
    ProposalParams,
    ProposeArgs,
    SessionEnded,
    SessionStarted,
    StartSessionArgs,
    VehicleGroupParams,
)

__all__ = [
    "SPEC",
    "Group",
    "Member",
    "Proposal",
    "SharingCode",
    "SharingError",
    "lien_reference",
    "split_bill",
]


def _index_group(args: CreateGroupArgs) -> list[tuple[str, str]]:
    return [("vehicle", args.vin.upper()), *(("did", m.did) for m in args.members)]


SPEC = ModuleSpec(
    name="sharing",
    codespace="sharing",
    title="Shared ownership",
    description="A vehicle owned by a group of DIDs in shares: sessions, bills split by "
    "share and usage, decisions k of n.",
    messages={
        "create_group": MessageSpec(
            name="create_group",
            args_type=CreateGroupArgs,
            handler=handlers.create_group,
            summary="Make a co-owning group of your vehicle (you and every member sign).",
            check=handlers.check_create_group,
            index=_index_group,
            signers="the vehicle's owner and every member",
        ),
        "start_session": MessageSpec(
            name="start_session",
            args_type=StartSessionArgs,
            handler=handlers.start_session,
            summary="Take the car (one session at a time).",
            signers="a member",
        ),
        "end_session": MessageSpec(
            name="end_session",
            args_type=EndSessionArgs,
            handler=handlers.end_session,
            summary="Bring the car back, with the distance driven.",
            signers="the member who took it",
        ),
        "bill": MessageSpec(
            name="bill",
            args_type=BillArgs,
            handler=handlers.bill,
            summary="Bill the group (an authorised payee); the members pay their parts now.",
            check=handlers.check_bill,
            signers="a payee the group authorised",
        ),
        "propose": MessageSpec(
            name="propose",
            args_type=ProposeArgs,
            handler=handlers.propose,
            summary="Propose a decision: admit_member, change_shares, authorise_payee, sell "
            "or dissolve (your approval counts).",
            signers="a member",
        ),
        "approve": MessageSpec(
            name="approve",
            args_type=ApproveArgs,
            handler=handlers.approve,
            summary="Approve a proposal (each member once).",
            signers="a member who has not approved it",
        ),
        "execute": MessageSpec(
            name="execute",
            args_type=ExecuteArgs,
            handler=handlers.execute,
            summary="Carry out a proposal with k approvals (a sale: the buyer signs and pays).",
            signers="a member; for a sale the buyer; for an admission the new member",
        ),
    },
    queries={
        "group": QuerySpec(
            name="group",
            params_type=GroupParams,
            result_type=Group,
            handler=queries.query_group,
            summary="A co-owning group: members, shares, usage, payees",
            path="/sharing/groups/{group_id}",
            not_found="there is no group {group_id!r}",
            cli=CliCommand("group show", positional=("group_id",), summary="A group."),
        ),
        "vehicle_group": QuerySpec(
            name="vehicle_group",
            params_type=VehicleGroupParams,
            result_type=Group,
            handler=queries.query_vehicle_group,
            summary="The group that owns a vehicle",
            path="/sharing/vehicles/{vin}",
            not_found="vehicle {vin} is not shared",
        ),
        "proposal": QuerySpec(
            name="proposal",
            params_type=ProposalParams,
            result_type=Proposal,
            handler=queries.query_proposal,
            summary="A group's proposal and its approvals",
            path="/sharing/groups/{group_id}/proposals/{proposal_id}",
            not_found="group {group_id!r} has no proposal {proposal_id!r}",
        ),
    },
    events=(
        GroupCreated,
        SessionStarted,
        SessionEnded,
        GroupBilled,
        ProposalApproved,
        ProposalExecuted,
    ),
    demo=demo_steps,
)
