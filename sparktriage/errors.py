"""One exception tree, one policy per branch.

- :class:`BadInput` — the input cannot be used: send it to the dead-letter
  topic with its reason and go on. Never crashes a worker.
- :class:`DeliveryError` — an output (webhook, topic, store) failed: retry with
  backoff, then write a dead-letter record.
- :class:`ConfigError` — settings, rule packs or models are broken: refuse to
  start and say what is wrong.
"""

from __future__ import annotations


class SparktriageError(Exception):
    """Base of every error sparktriage raises on purpose."""


class BadInput(SparktriageError):
    """An input record that cannot be used; ``reason`` is a short stable code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class DeliveryError(SparktriageError):
    """An output could not be delivered; ``retryable`` says whether to try again."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class ConfigError(SparktriageError):
    """Configuration, rule packs or model artifacts are unusable, or a service they name cannot be
    reached; the process refuses to start. ``hint`` says what to check or do, in one line."""

    def __init__(self, problems: str | list[str], hint: str | None = None) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.hint = hint
        super().__init__("\n".join(self.problems + ([hint] if hint else [])))
