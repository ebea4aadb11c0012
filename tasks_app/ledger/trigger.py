"""What triggered a task: set by each way in (request, command, beat, task), read by the port.

Entry points set the kind and the user (`TaskTriggerMiddleware` for the admin and the API, beat's
scheduler for schedules); a service may add a label saying what it was doing ("user creation").
With nothing set, a task queued on a worker names the task that queued it, and one queued by
`manage.py` names the command.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path

from tasks_app.models.ledger import Trigger


@dataclass(frozen=True)
class TaskTrigger:
    kind: str
    user_id: object = None  # the primary key of the user who asked, if any
    label: str = ""
    # Resolved when a task is queued, not when the request starts: the API authenticates (and so
    # knows its user) only inside the view.
    user_getter: Callable[[], object] | None = None

    def resolved_user_id(self) -> object:
        if self.user_id is None and self.user_getter is not None:
            return self.user_getter()
        return self.user_id


_current: ContextVar[TaskTrigger | None] = ContextVar("task_trigger", default=None)


@contextmanager
def task_trigger(
    kind: str | None = None, *, user=None, label: str | None = None, user_getter=None
) -> Iterator[TaskTrigger]:
    """Tasks queued inside the block name this trigger; unset parts are kept from the outer one."""
    outer = current_trigger()
    changes: dict[str, object] = {}
    if kind is not None:
        changes.update(kind=kind, user_id=None, user_getter=None, label="")
    if user is not None:
        changes.update(user_id=user.pk, user_getter=None)
    if user_getter is not None:
        changes.update(user_getter=user_getter)
    if label is not None:
        changes["label"] = label[:200]
    token = _current.set(replace(outer, **changes))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def current_trigger() -> TaskTrigger:
    """The trigger set by the innermost `task_trigger`, or the one the process itself implies."""
    trigger = _current.get()
    if trigger is not None:
        return trigger
    from celery import current_task

    if current_task and not current_task.request.called_directly:
        return TaskTrigger(Trigger.TASK, label=current_task.name)
    return _process_trigger(tuple(sys.argv[:2]))


@functools.cache
def _process_trigger(argv: tuple[str, ...]) -> TaskTrigger:
    """`manage.py <command>` names the command; any other process is a service."""
    if len(argv) > 1 and Path(argv[0]).name == "manage.py":
        return TaskTrigger(Trigger.COMMAND, label=argv[1])
    return TaskTrigger(Trigger.SERVICE)


class QueuesTasksCommand:
    """Mixed into a management command (before BaseCommand): the tasks it queues name it as
    their trigger, also when it is called with `call_command` rather than from `manage.py`."""

    def execute(self, *args, **options):
        with task_trigger(Trigger.COMMAND, label=type(self).__module__.rsplit(".", 1)[-1]):
            return super().execute(*args, **options)
