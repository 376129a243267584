"""The authenticated state tree: its root is a function of the state alone, its proofs show
exactly what the state holds, any tampering with a proof is caught, and old versions stay
provable. Checked against a naive reading of the definition in the module docstring."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amchain.ledger import state_tree
from amchain.ledger.state_tree import (
    EMPTY_SUBTREE,
    EMPTY_TREE,
    MemoryTreeNodes,
    StateProof,
    StateTreeError,
    TreeRoot,
    TreeUpdate,
    apply_state_updates,
    apply_state_updates_in_python,
    compute_root_from_proof,
    compute_state_root_of,
    decode_node,
    decode_state_proof,
    encode_state_proof,
    hash_key,
    prove_state_key,
    verify_state_proof,
)
from tests.support import start_node


# -- the definition, read naively ----------------------------------------------------------
def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def reference_root(items: dict[str, bytes]) -> bytes:
    """The root as the module docstring defines it, without compaction tricks or storage."""
    leaves = sorted(
        (_h(k.encode()), _h(b"\x00" + _h(k.encode()) + _h(v))) for k, v in items.items()
    )

    def subtree(entries: list[tuple[bytes, bytes]], depth: int) -> bytes:
        if not entries:
            return bytes(32)
        if len(entries) == 1:
            return entries[0][1]
        left = [e for e in entries if not (e[0][depth // 8] >> (7 - depth % 8)) & 1]
        right = entries[len(left) :]
        return _h(b"\x01" + subtree(left, depth + 1) + subtree(right, depth + 1))

    return subtree(leaves, 0)


# Examples run on shared, loaded machines: no per-example time limit (speed is bench/'s).
RELAXED = settings(deadline=None)

# Few distinct characters: batches often overwrite or delete keys written before.
keys = st.text(alphabet="abcdv/", max_size=5)
values = st.binary(max_size=12)
states = st.dictionaries(keys, values, max_size=40)
writes = st.lists(st.tuples(keys, st.none() | values), max_size=40)


def tree_of(items: dict[str, bytes]) -> MemoryTreeNodes:
    tree = MemoryTreeNodes()
    tree.apply(sorted(items.items()))
    return tree


def absent_keys(items: dict[str, bytes], count: int) -> list[str]:
    return [f"absent/{i}" for i in range(count) if f"absent/{i}" not in items]


# -- the root is a function of the state -----------------------------------------------------
VEHICLES = [(f"vehicles/v/VIN{i:05d}", f"value-{i}".encode()) for i in range(20)]


def test_root_of_a_fixed_state_is_pinned() -> None:
    # Pinned before any optimisation of the update code: these values are the chain's.
    assert compute_state_root_of([]) == EMPTY_SUBTREE == bytes(32)
    assert (
        compute_state_root_of(VEHICLES[:1]).hex()
        == "adb990fdfea1726d188e0e9bb747a0cdbfaa7439831b877292f5a58f0128513b"
    )
    assert (
        compute_state_root_of(VEHICLES).hex()
        == "470d4bf29c2ed1a17514e95c834197860abf55a93d6db5ce6136b4e0dcce6648"
    )
    tree = tree_of(dict(VEHICLES))
    changed = [("vehicles/v/VIN00003", None), ("vehicles/v/VIN00004", b"changed"), ("x", b"")]
    assert (
        tree.apply(changed).hash.hex()
        == "befa5265b21db1c1a01c9d13ad571302bda39f9675e4556df38471e8b2195554"
    )


@settings(RELAXED)
@given(states)
def test_root_matches_the_definition_for_any_state(items: dict[str, bytes]) -> None:
    assert compute_state_root_of(items.items()) == reference_root(items)


@settings(RELAXED)
@given(states, st.randoms(use_true_random=False), st.data())
def test_root_does_not_depend_on_insertion_order_or_batching(
    items: dict[str, bytes], rng, data: st.DataObject
) -> None:
    ordered = list(items.items())
    rng.shuffle(ordered)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(ordered)), max_size=6)))
    tree = MemoryTreeNodes()
    for lo, hi in zip([0, *cuts], [*cuts, len(ordered)], strict=True):
        tree.apply(ordered[lo:hi])
    assert tree.root.hash == compute_state_root_of(items.items())


@settings(RELAXED, max_examples=150)
@given(st.lists(writes, max_size=8))
def test_root_after_any_sequence_of_batches_is_the_root_of_the_resulting_state(
    batches: list[list[tuple[str, bytes | None]]],
) -> None:
    tree = MemoryTreeNodes()
    state: dict[str, bytes] = {}
    for batch in batches:
        tree.apply(batch)
        for key, value in batch:
            if value is None:
                state.pop(key, None)
            else:
                state[key] = value
        assert tree.root.hash == reference_root(state)
        assert (tree.root == EMPTY_TREE) == (not state)


def test_blocks_over_a_larger_state_match_the_definition() -> None:
    # Deeper paths than the property tests reach: lone writes below shared levels, new keys
    # splitting a leaf, rewrites, deletes and rewrites with the value already held.
    rng = random.Random(7)
    state = {f"vehicles/v/{i:06d}": rng.randbytes(20) for i in range(3000)}
    tree = tree_of(state)
    for block in range(6):
        writes: list[tuple[str, bytes | None]] = []
        for _ in range(400):
            key = f"vehicles/v/{rng.randrange(4000):06d}"
            choice = rng.random()
            if choice < 0.2:
                writes.append((key, None))
            elif choice < 0.3 and key in state:
                writes.append((key, state[key]))
            else:
                writes.append((key, rng.randbytes(20 + block)))
        tree.apply(writes)
        for key, value in writes:
            if value is None:
                state.pop(key, None)
            else:
                state[key] = value
        assert tree.root.hash == reference_root(state)
    for key in rng.sample(sorted(state), 50):
        value, proof = prove_state_key(tree, tree.root, key)
        assert value == state[key] and verify_state_proof(tree.root.hash, key, value, proof)


@settings(RELAXED)
@given(states, st.data())
def test_deletes_leave_the_root_of_the_remaining_state(
    items: dict[str, bytes], data: st.DataObject
) -> None:
    doomed = data.draw(
        st.lists(st.sampled_from(sorted(items)), unique=True) if items else st.just([])
    )
    never_written = data.draw(st.lists(keys.filter(lambda k: k not in items), max_size=5))
    tree = tree_of(items)
    tree.apply([(key, None) for key in doomed + never_written])
    remaining = {k: v for k, v in items.items() if k not in doomed}
    assert tree.root.hash == compute_state_root_of(remaining.items()) == reference_root(remaining)


@settings(RELAXED)
@given(states)
def test_deleting_every_key_gives_the_empty_tree(items: dict[str, bytes]) -> None:
    tree = tree_of(items)
    assert tree.apply([(key, None) for key in items]) == EMPTY_TREE


def test_deleting_absent_keys_from_the_empty_tree_creates_nothing() -> None:
    result = apply_state_updates(MemoryTreeNodes(), EMPTY_TREE, [("a", None)], next_node_id=1)
    assert result.root == EMPTY_TREE and result.new_nodes == [] and result.next_node_id == 1


def test_rewriting_values_a_key_already_holds_creates_no_nodes() -> None:
    tree = tree_of(dict(VEHICLES))
    result = apply_state_updates(tree, tree.root, VEHICLES[3:9], next_node_id=tree.next_node_id)
    assert result.root == tree.root and result.new_nodes == []


def test_a_batch_writing_a_key_twice_keeps_the_last_value() -> None:
    tree = MemoryTreeNodes()
    tree.apply([("k", b"first"), ("j", b"x"), ("k", b"last")])
    assert tree.root.hash == compute_state_root_of([("j", b"x"), ("k", b"last")])
    tree.apply([("j", None), ("j", b"back")])
    assert tree.root.hash == compute_state_root_of([("j", b"back"), ("k", b"last")])


def test_new_nodes_are_numbered_from_next_node_id_in_order() -> None:
    result = apply_state_updates(MemoryTreeNodes(), EMPTY_TREE, VEHICLES, next_node_id=100)
    ids = [node_id for node_id, _ in result.numbered_nodes()]
    assert result.first_node_id == 100
    assert ids == list(range(100, result.next_node_id)) and len(ids) == len(result.new_nodes)
    assert result.root.node_id in ids


# -- proofs show what the state holds ------------------------------------------------------
@settings(RELAXED)
@given(states)
def test_inclusion_and_non_inclusion_proofs_verify(items: dict[str, bytes]) -> None:
    tree = tree_of(items)
    root = tree.root
    for key, value in items.items():
        found, proof = prove_state_key(tree, root, key)
        assert found == value and proof.other_leaf is None
        assert verify_state_proof(root.hash, key, value, proof)
        assert not verify_state_proof(root.hash, key, None, proof)
        assert not verify_state_proof(root.hash, key, value + b"!", proof)
    for key in absent_keys(items, 8):
        found, proof = prove_state_key(tree, root, key)
        assert found is None
        assert verify_state_proof(root.hash, key, None, proof)
        assert not verify_state_proof(root.hash, key, b"", proof)


def test_non_inclusion_proofs_end_at_an_empty_subtree_or_at_another_leaf() -> None:
    items = {f"vehicles/v/{i}": bytes([i]) * 200 for i in range(64)}
    tree = tree_of(items)
    endings: dict[str, int] = {"empty": 0, "other leaf": 0}
    for key in absent_keys(items, 200):
        found, proof = prove_state_key(tree, tree.root, key)
        assert found is None and verify_state_proof(tree.root.hash, key, None, proof)
        endings["empty" if proof.other_leaf is None else "other leaf"] += 1
        if proof.other_leaf is not None:
            other = bytes.fromhex(proof.other_leaf[0])
            assert other in {hash_key(k) for k in items} and other != hash_key(key)
    assert endings["empty"] > 0 and endings["other leaf"] > 0


def test_a_proof_of_one_key_does_not_prove_another_keys_value() -> None:
    tree = tree_of(dict(VEHICLES))
    (key_a, value_a), (key_b, value_b) = VEHICLES[2], VEHICLES[7]
    _, proof_a = prove_state_key(tree, tree.root, key_a)
    assert not verify_state_proof(tree.root.hash, key_b, value_b, proof_a)
    assert not verify_state_proof(tree.root.hash, key_b, value_a, proof_a)


def test_the_empty_tree_proves_every_key_absent() -> None:
    found, proof = prove_state_key(MemoryTreeNodes(), EMPTY_TREE, "anything")
    assert found is None and proof == StateProof([])
    assert verify_state_proof(EMPTY_SUBTREE, "anything", None, proof)
    assert not verify_state_proof(EMPTY_SUBTREE, "anything", b"", proof)


# A hash that is not the empty subtree's (which a None sibling already stands for).
hashes = st.binary(min_size=32, max_size=32).filter(any).map(bytes.hex)


def _random_hash(data: st.DataObject) -> str:
    return data.draw(hashes)


def tamper(proof: StateProof, data: st.DataObject) -> StateProof:
    """Return ``proof`` with one part changed (a change that alters what it shows)."""
    siblings = list(proof.siblings)
    other = None if proof.other_leaf is None else list(proof.other_leaf)
    kinds = ["add sibling", "other leaf"]
    if siblings:
        kinds += ["swap sibling", "drop sibling"]
    if any(s is not None for s in siblings):
        kinds.append("flip sibling byte")
    kind = data.draw(st.sampled_from(kinds), label="tampering")
    if kind == "flip sibling byte":
        index = data.draw(st.sampled_from([i for i, s in enumerate(siblings) if s is not None]))
        siblings[index] = _flip_hex_byte(siblings[index], data)
    elif kind == "swap sibling":
        index = data.draw(st.integers(0, len(siblings) - 1))
        siblings[index] = _random_hash(data) if siblings[index] is None else None
    elif kind == "drop sibling":
        del siblings[data.draw(st.integers(0, len(siblings) - 1))]
    elif kind == "add sibling":
        added = data.draw(st.none() | hashes)
        siblings.insert(data.draw(st.integers(0, len(siblings))), added)
    elif other is None:
        other = [_random_hash(data), _random_hash(data)]
    elif data.draw(st.booleans(), label="drop other leaf"):
        other = None
    else:
        index = data.draw(st.integers(0, 1))
        other[index] = _flip_hex_byte(other[index], data)
    return StateProof(siblings, other)


def _flip_hex_byte(text: str, data: st.DataObject) -> str:
    raw = bytearray(bytes.fromhex(text))
    raw[data.draw(st.integers(0, 31))] ^= data.draw(st.integers(1, 255))
    return raw.hex()


@settings(RELAXED, max_examples=300)
@given(st.dictionaries(keys, values, min_size=1, max_size=40), st.data())
def test_any_tampering_with_a_proof_makes_verification_fail(
    items: dict[str, bytes], data: st.DataObject
) -> None:
    tree = tree_of(items)
    key = data.draw(st.sampled_from(sorted(items) + absent_keys(items, 4)), label="key")
    value, proof = prove_state_key(tree, tree.root, key)
    assert verify_state_proof(tree.root.hash, key, value, proof)
    target = data.draw(st.sampled_from(["proof", "value", "root"]), label="target")
    if target == "proof":
        assert not verify_state_proof(tree.root.hash, key, value, tamper(proof, data))
    elif target == "value":
        claimed = data.draw(values.filter(lambda v: v != value) | st.just(None))
        if claimed != value:
            assert not verify_state_proof(tree.root.hash, key, claimed, proof)
    else:
        root = bytearray(tree.root.hash)
        root[data.draw(st.integers(0, 31))] ^= 0x01
        assert not verify_state_proof(bytes(root), key, value, proof)


@pytest.mark.parametrize(
    ("proof", "value"),
    [
        (StateProof(["00" * 31]), None),  # a sibling that is not 32 bytes
        (StateProof(["zz" * 32]), None),  # nor hex
        (StateProof([None] * 257), None),  # deeper than a key's path
        (StateProof([], ["00" * 32]), None),  # other_leaf is not [key_hash, value_hash]
        (StateProof([], ["00" * 32, "00" * 32]), b"v"),  # inclusion ending at another leaf
        (StateProof([], [hash_key("k").hex(), "00" * 32]), None),  # "another" leaf is the key
    ],
)
def test_malformed_proofs_are_rejected_not_crashed_on(proof: StateProof, value) -> None:
    assert not verify_state_proof(EMPTY_SUBTREE, "k", value, proof)
    with pytest.raises(ValueError):
        compute_root_from_proof("k", value, proof)


def test_another_leaf_off_the_keys_path_is_rejected() -> None:
    key_hash = hash_key("k")
    off_path = bytes([key_hash[0] ^ 0x80]) + key_hash[1:]
    proof = StateProof([None], [off_path.hex(), "11" * 32])
    with pytest.raises(ValueError, match="not on the key's path"):
        compute_root_from_proof("k", None, proof)


# -- versions ------------------------------------------------------------------------------
@settings(RELAXED, max_examples=60)
@given(st.lists(writes, min_size=1, max_size=6))
def test_proofs_at_older_versions_keep_verifying_after_later_updates(
    batches: list[list[tuple[str, bytes | None]]],
) -> None:
    tree = MemoryTreeNodes()
    versions: list[tuple[TreeRoot, dict[str, bytes]]] = []
    state: dict[str, bytes] = {}
    for batch in batches:
        tree.apply(batch)
        for key, value in batch:
            if value is None:
                state.pop(key, None)
            else:
                state[key] = value
        versions.append((tree.root, dict(state)))
    every_key = {key for batch in batches for key, _ in batch}
    for root, snapshot in versions:
        for key in every_key:
            value, proof = prove_state_key(tree, root, key)
            assert value == snapshot.get(key)
            assert verify_state_proof(root.hash, key, value, proof)


# -- the compact binary form ---------------------------------------------------------------
@settings(RELAXED)
@given(states, st.data())
def test_binary_proof_encoding_round_trips(items: dict[str, bytes], data: st.DataObject) -> None:
    tree = tree_of(items)
    key = data.draw(st.sampled_from(sorted(items) + absent_keys(items, 4)))
    value, proof = prove_state_key(tree, tree.root, key)
    encoded = encode_state_proof(proof)
    assert decode_state_proof(encoded) == proof
    assert verify_state_proof(tree.root.hash, key, value, decode_state_proof(encoded))
    non_empty = sum(s is not None for s in proof.siblings)
    other = 0 if proof.other_leaf is None else 64
    assert len(encoded) == 3 + (len(proof.siblings) + 7) // 8 + 32 * non_empty + other
    for cut in range(len(encoded)):
        with pytest.raises(ValueError):
            decode_state_proof(encoded[:cut])
    with pytest.raises(ValueError):
        decode_state_proof(encoded + b"\x00")


@settings(RELAXED)
@given(st.binary(max_size=300))
def test_garbage_bytes_are_rejected_or_are_the_one_encoding_of_a_proof(data: bytes) -> None:
    try:
        proof = decode_state_proof(data)
    except ValueError:
        return
    assert encode_state_proof(proof) == data


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00",
        b"\x00\x00",
        b"\x01\x01\x00",  # depth 257
        b"\x00\x00\x02",  # unknown flag
        b"\x00\x10\x00",  # depth 16 without its bitmap
        b"\x00\x01\x00\x40",  # a bitmap bit past the depth
        b"\x00\x01\x00\x80" + bytes(31),  # a sibling cut short
        b"\x00\x00\x01" + bytes(63),  # another leaf cut short
    ],
)
def test_malformed_binary_proofs_are_rejected(data: bytes) -> None:
    with pytest.raises(ValueError):
        decode_state_proof(data)


def test_proofs_survive_json_as_the_api_carries_them() -> None:
    tree = tree_of(dict(VEHICLES))
    for key in ("vehicles/v/VIN00011", "absent"):
        value, proof = prove_state_key(tree, tree.root, key)
        again = msgspec.json.decode(msgspec.json.encode(proof), type=StateProof)
        assert again == proof and verify_state_proof(tree.root.hash, key, value, again)


# -- storage faults ------------------------------------------------------------------------
class CorruptedNodes:
    """A node reader returning chosen bytes for some ids (a damaged database)."""

    def __init__(self, tree: MemoryTreeNodes, damage: dict[int, bytes | None]) -> None:
        self.tree = tree
        self.damage = damage

    def get_tree_nodes(self, node_ids):
        found = self.tree.get_tree_nodes(node_ids)
        for node_id, data in self.damage.items():
            if node_id in found:
                if data is None:
                    del found[node_id]
                else:
                    found[node_id] = data
        return found


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00" + bytes(63), b"\x01" + bytes(80), b"\x01" + bytes(82), b"\x02" + bytes(81)],
)
def test_malformed_stored_nodes_are_a_state_tree_error(data: bytes) -> None:
    with pytest.raises(StateTreeError):
        decode_node(data)
    tree = tree_of(dict(VEHICLES))
    damaged = CorruptedNodes(tree, {tree.root.node_id: data})
    with pytest.raises(StateTreeError):
        apply_state_updates(damaged, tree.root, [("new", b"v")], next_node_id=tree.next_node_id)
    with pytest.raises(StateTreeError):
        prove_state_key(damaged, tree.root, VEHICLES[0][0])


def test_a_missing_stored_node_is_a_state_tree_error() -> None:
    tree = tree_of(dict(VEHICLES))
    for node_id in range(1, tree.next_node_id):
        damaged = CorruptedNodes(tree, {node_id: None})
        reached = False
        try:
            for key, _ in VEHICLES:
                prove_state_key(damaged, tree.root, key)
            apply_state_updates(
                damaged,
                tree.root,
                [(key, b"new") for key, _ in VEHICLES],
                next_node_id=tree.next_node_id,
            )
        except StateTreeError as error:
            reached = True
            assert "missing" in str(error)
        # Every node of the latest version lies on some key's path.
        assert reached == (node_id in reachable_ids(tree, tree.root.node_id))


def reachable_ids(tree: MemoryTreeNodes, node_id: int) -> set[int]:
    if node_id == 0:
        return set()
    node = decode_node(tree.nodes[node_id])
    if node[0] == 0:
        return {node_id}
    return {node_id} | reachable_ids(tree, node[4]) | reachable_ids(tree, node[5])


def test_a_cycle_in_stored_nodes_is_a_state_tree_error_not_a_hang() -> None:
    tree = MemoryTreeNodes()
    # An internal node whose children are itself: storage corruption, not a real tree.
    looped = b"\x01" + bytes(32) + bytes(32) + b"\x00" + (1).to_bytes(8, "big") * 2
    tree.nodes[1] = looped
    root = TreeRoot(hashlib.sha256(looped[:65]).digest(), 1)
    with pytest.raises(StateTreeError):
        apply_state_updates(tree, root, [("k", b"v"), ("j", b"w")], next_node_id=2)
    with pytest.raises(StateTreeError):
        prove_state_key(tree, root, "k")


# -- the compiled update loop against the Python reference ---------------------------------
def test_the_compiled_update_loop_is_built() -> None:
    assert state_tree.COMPILED_UPDATE, (
        "amchain.ledger._tree_update was not built: install a C compiler and OpenSSL's "
        "headers (Debian: gcc libssl-dev), then `.venv/bin/pip install -e .` again"
    )


def apply_both(
    nodes: dict[int, bytes], root: TreeRoot, batch: list[tuple[str, bytes | None]], next_id: int
) -> TreeUpdate:
    reader = MemoryTreeNodes()
    reader.nodes = nodes
    compiled = apply_state_updates(reader, root, batch, next_node_id=next_id)
    python = apply_state_updates_in_python(reader, root, batch, next_node_id=next_id)
    assert compiled == python
    return compiled


@RELAXED
@given(st.lists(writes, max_size=6))
def test_the_compiled_loop_creates_the_same_nodes_as_the_python_reference(
    batches: list[list[tuple[str, bytes | None]]],
) -> None:
    nodes: dict[int, bytes] = {}
    root, next_id = EMPTY_TREE, 1
    for batch in batches:
        result = apply_both(nodes, root, batch, next_id)
        nodes.update(result.numbered_nodes())
        root, next_id = result.root, result.next_node_id


def test_the_compiled_loop_matches_the_python_reference_over_a_larger_state() -> None:
    rng = random.Random(7)
    nodes: dict[int, bytes] = {}
    root, next_id = EMPTY_TREE, 1
    for block in range(12):
        batch: list[tuple[str, bytes | None]] = [
            (f"k/{rng.randrange(4000)}", None if rng.random() < 0.2 else rng.randbytes(9))
            for _ in range(500 if block < 6 else rng.choice([1, 2, 3, 50]))
        ]
        result = apply_both(nodes, root, batch, next_id)
        nodes.update(result.numbered_nodes())
        root, next_id = result.root, result.next_node_id
    assert len(nodes) > 5000


@pytest.mark.parametrize(
    "data",
    [None, b"", b"\x00" + bytes(63), b"\x01" + bytes(80), b"\x01" + bytes(82), b"\x02" + bytes(81)],
)
def test_the_compiled_loop_refuses_damaged_nodes_as_the_python_reference_does(
    data: bytes | None,
) -> None:
    tree = tree_of(dict(VEHICLES))
    for node_id in sorted(reachable_ids(tree, tree.root.node_id)):
        damaged = CorruptedNodes(tree, {node_id: data})
        batch = [(key, b"new") for key, _ in VEHICLES] + [("new", b"v")]
        errors = []
        for apply in (apply_state_updates, apply_state_updates_in_python):
            with pytest.raises(StateTreeError) as refused:
                apply(damaged, tree.root, batch, next_node_id=tree.next_node_id)
            errors.append(str(refused.value))
        assert errors[0] == errors[1]


# -- on the real SQLite store, through a node ----------------------------------------------
def test_every_committed_block_commits_to_the_root_of_the_stored_state(tmp_path: Path) -> None:
    with start_node(tmp_path / "node") as node:
        store = node.node.store
        snapshots: dict[int, dict[str, bytes]] = {}

        def snapshot() -> None:
            height = store.latest_height()
            rows = dict(store.state().iter_prefix(""))
            tree_root = store.state_tree_root(height)
            assert tree_root is not None
            commit = store.get_block(height)
            assert commit is not None
            assert commit.commit.record.state_root == tree_root.hash.hex()
            assert tree_root.hash == compute_state_root_of(rows.items())
            snapshots[height] = rows

        snapshot()  # genesis
        vins = [_vin(i) for i in range(6)]
        for vin in vins:
            register = node.tx(
                [node.key("oem")],
                "vehicles",
                "register_vehicle",
                {"vin": vin, "make": "Honda", "model": "Accord", "model_year": 2003},
            )
            assert node.post(register).status_code == 200
            snapshot()
            for km in (1000, 2000):
                event = node.tx(
                    [node.key("registry")],
                    "vehicles",
                    "record_event",
                    {"vin": vin, "event": {"type": "odometer", "odometer_km": km}},
                )
                assert node.post(event).status_code == 200
                snapshot()
        assert len(snapshots) == store.latest_height() + 1  # one block per transaction

        # The state table and the tree agree, at the head and at every older height.
        reader = store.tree_nodes()
        every_key = sorted(set().union(*snapshots.values()))
        assert any(key.startswith("vehicles/") for key in every_key)
        for height, rows in snapshots.items():
            root = store.state_tree_root(height)
            assert root is not None
            for key in [*every_key[:: max(1, len(every_key) // 25)], "vehicles/v/absent"]:
                value, proof = prove_state_key(reader, root, key)
                assert value == rows.get(key)
                assert verify_state_proof(root.hash, key, value, proof)


def _vin(i: int) -> str:
    from amchain.modules.vehicles import compute_vin_check_digit

    body = f"1HGCM826{i:08d}"
    vin = body[:8] + "0" + body[8:]
    return vin[:8] + compute_vin_check_digit(vin) + vin[9:]
