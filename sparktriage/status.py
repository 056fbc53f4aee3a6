"""How an application ended, in the words the store, the payload and the dashboards share.

``final_status`` of an application (and of its diagnosis) is one of:

- ``FAILED``, ``KILLED``: it failed; diagnosed, counted as a failure;
- ``SUCCEEDED``: never diagnosed as a failure whatever it logged; stored only
  with a "succeeded with errors" note (setting ``succeeded_notes``) or to
  replace an early notice it had been sent while stalled;
- ``ENDED``: it ended (its driver shut down, its event log closed) and
  nothing says how: stored when it logged exceptions, shown apart, never
  counted as a failure;
- ``UNKNOWN_END``: it went quiet for ``inactivity_timeout`` with no known end
  ("unknown end"): the same;
- ``RUNNING``: a *provisional* diagnosis of an application still running
  but stalled (``ingest.stalls``), replaced by the final one when it ends.

Rows written before these words existed may hold ``None``: those were
diagnosed as failures then and are counted as such.
"""

from __future__ import annotations

FAILED, KILLED, SUCCEEDED = "FAILED", "KILLED", "SUCCEEDED"
ENDED, UNKNOWN_END, RUNNING = "ENDED", "UNKNOWN_END", "RUNNING"
FAILURES = (FAILED, KILLED)
#: Ended with no status, or never seen ending: shown apart, never counted as failed.
UNSURE = (ENDED, UNKNOWN_END)
#: Where the end was learnt (``AppState.end_source`` and the payload's ``end.source``).
APP_END, INACTIVITY = "app_end", "inactivity"
LABELS = {FAILED: "failed", KILLED: "killed", SUCCEEDED: "succeeded", ENDED: "ended, status unknown",
          UNKNOWN_END: "unknown end", RUNNING: "running, stalled"}


def is_failure(status: str | None) -> bool:
    """Whether a stored diagnosis counts as a failed application (``None``: a row from before)."""
    return status is None or status in FAILURES


def closing_note(status: str, *, replaces: bool) -> str | None:
    """The note a succeeded application's diagnosis carries (it is stored only with one)."""
    if status != SUCCEEDED:
        return None
    if replaces:
        return "the application succeeded; this replaces what was sent before its end was known"
    return "the application succeeded with these errors logged"


def should_diagnose(status: str, *, has_events: bool, provisional_sent: bool, succeeded_notes: bool) -> bool:
    """Whether an application that ended with ``status`` gets a (final) diagnosis.

    A failure always does (its last lines stand in when it printed no
    error); an unsure end only when it left exceptions to read; a success
    only to replace what was sent before (an early notice, an end inferred
    wrongly), or as a note when asked for.
    """
    if status in FAILURES:
        return True
    if status == SUCCEEDED:
        return provisional_sent or (succeeded_notes and has_events)
    return has_events or provisional_sent
