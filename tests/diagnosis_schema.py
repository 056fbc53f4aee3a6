"""Validate any emitted diagnosis against the one schema file (``sparktriage/schemas/diagnosis.json``)."""

from __future__ import annotations

from typing import Any

import jsonschema

from sparktriage.payload import schema

_VALIDATOR = jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def assert_valid(document: Any) -> None:
    """Fail with every violation at once, each with its path in the document."""
    errors = sorted(_VALIDATOR.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors)
