"""The regex rule engine and the built-in YAML rule packs (``rules/packs``)."""
