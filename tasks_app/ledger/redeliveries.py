"""A bound on redeliveries: a message whose attempts keep killing their worker (a poison message)
is failed instead of being delivered forever.

An `acks_late` task's message goes back to the broker when its worker dies (SIGKILL, OOM, a
segfault in a C library), and comes back as the task's next attempt; a message that kills every
worker that takes it would loop, taking a process down each time. Each delivery is an attempt in
the ledger, and an attempt that never ended was lost with its worker, so the count is exact.
"""

from __future__ import annotations

from django.conf import settings

from tasks_app.ledger.lost import attempts_lost
from tasks_app.models.ledger import TaskAttempt


class PoisonMessageError(Exception):
    """The task's worker died during more than TASK_MAX_REDELIVERIES of its attempts."""


def redeliveries_check(*, attempt: TaskAttempt) -> None:
    """Raise PoisonMessageError rather than run `attempt` after too many lost ones."""
    limit = settings.TASK_MAX_REDELIVERIES
    if attempt.number <= limit + 1:  # too few attempts yet: no query needed
        return
    lost = attempts_lost(task_id=attempt.task_id, before=attempt)
    if lost > limit:
        raise PoisonMessageError(
            f"not run again: its worker died during {lost} attempts (killed, out of memory or "
            f"crashed), more than TASK_MAX_REDELIVERIES={limit}"
        )
