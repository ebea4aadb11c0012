"""CSV reports of users, one module per concern: `requests` (create, enqueue, fail), `export`
(generate the file: claim, progress, the portable path), `copy` (Postgres's COPY driven through
libpq) and `housekeeping` (fail stale reports, expire and delete old ones)."""
