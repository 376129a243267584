"""AutoMobile Chain: a consortium ledger for vehicle identity, life history and supply chains.

Layers (DESIGN.md §2), lowest first: ``crypto`` → ``codec`` → ``ledger`` → ``modules`` →
``runtime`` / ``storage`` → ``consensus`` → ``node`` → ``api`` → ``cli``; ``sdk`` uses only
crypto, codec, ledger and module types. Import-linter contracts in pyproject.toml keep it so.
"""

__version__ = "0.1.0"
