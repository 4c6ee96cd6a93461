"""The offline ``analytic`` backend (no weights)."""
