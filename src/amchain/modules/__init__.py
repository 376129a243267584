"""System contracts: one deterministic module per domain (DESIGN.md §4).

Every module has the same anatomy: ``types`` (wire and state structs), ``keeper`` (the only
code touching the module's key prefix), ``handlers`` (one function per message: validate,
authorise, change state, emit events), ``queries`` (read-only), ``errors`` (codespace and
stable codes) and a ``README.md``. A module's package ``__init__`` exports its ``SPEC`` and
the narrow interface other modules may use.
"""
