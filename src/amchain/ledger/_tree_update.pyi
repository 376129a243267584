from collections.abc import Callable, Sequence

def apply_sorted_updates(
    paths: list[bytes],
    values: list[bytes | None],
    root_hash: bytes,
    root_id: int,
    get_tree_nodes: Callable[[Sequence[int]], dict[int, bytes]],
    first_id: int,
    error_type: type[Exception],
    /,
) -> tuple[bytes, int, list[bytes]]: ...
