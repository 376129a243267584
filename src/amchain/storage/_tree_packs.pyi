from collections.abc import Sequence

def find_packed_nodes(
    packs: dict[int, bytes],
    node_ids: Sequence[int],
    pack_bits: int,
    error_type: type[Exception],
    /,
) -> tuple[dict[int, bytes], list[int]]: ...
