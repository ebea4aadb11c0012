"""The task ledger: every task from the moment it is queued to its result (tasks_app.models.ledger).

- `trigger`: who or what is queuing tasks right now (request, command, schedule, task);
- `enqueue`: the record written in the caller's transaction;
- `published`: after the publish, the result rows and publish marks, written off the caller's path;
- `attempts`: what a worker writes when an attempt starts and ends (asynchronous commit);
- `task`, `backend`: Celery's hooks that call `attempts` (the base task class, the result backend);
- `lost`: the attempts of dead workers, ended as lost; `redeliveries`: the bound on a message that
  kills its worker every time.
"""
