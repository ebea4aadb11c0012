"""Benchmark: CSV export of users on Postgres, at 100,000 and 1,000,000 users, in one run.

    DATABASE_URL=postgres://root@127.0.0.1:5432/wt_reports_bench .venv/bin/python bench/reports.py

Creates the database if needed, migrates it, seeds users with one INSERT ... SELECT generate_series
(90% active), and exports the active ones (the seed's `is_active` filter) three ways, each in a
fresh child process run under GNU time (`/usr/bin/time -f %M`, its peak RSS):

- psql   : `psql -c "\\copy (<the project's SELECT>) TO file WITH (FORMAT csv, HEADER)"`: floor
- project: `report_generate()`, the service behind tasks_app.generate_user_report, end to end
           (claim, estimate, COPY to a temp file, progress, save to storage, complete)
- seed  : the seed's approach: every row fetched into a list, the CSV built in a StringIO

Times are medians of --repeat interleaved rounds, measured inside the child around the export only
(for psql, the wall time of the whole psql process, start-up included, which favours the others).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.support import ensure_database  # noqa: E402

DEFAULT_URL = "postgres://root@127.0.0.1:5432/wt_reports_bench"
FILTERS = {"is_active": True}
VARIANTS = ("psql", "project", "seed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="user counts to seed")
    parser.add_argument("--repeat", type=int, default=5, help="runs per variant and size")
    args = parser.parse_args()

    url = os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgres"):
        sys.exit("bench/reports.py needs a Postgres DATABASE_URL")
    work = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    os.environ["VAR_DIR"] = str(work / "var")
    os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
    os.environ.setdefault("DJANGO_DEBUG", "false")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
    ensure_database(url)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=BASE_DIR, check=True)

    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.db import connection
    from psycopg import ClientCursor

    from tasks_app.selectors.reports import report_rows_postgres_sql

    sql, params = report_rows_postgres_sql(FILTERS)
    connection.ensure_connection()
    literal_sql = ClientCursor(connection.connection).mogrify(sql, params)

    results = []
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            _seed(connection, size)
            runs: dict[str, list[dict]] = {v: [] for v in VARIANTS}
            for _ in range(args.repeat):  # interleaved, so a noisy moment hits every variant
                for variant in VARIANTS:
                    runs[variant].append(_run(variant, url, literal_sql, work))
            for variant in VARIANTS:
                rows = {r["rows"] for r in runs[variant]}
                assert len(rows) == 1, f"{variant} exported different row counts: {rows}"
                results.append(
                    {
                        "users": size,
                        "variant": variant,
                        "rows": rows.pop(),
                        "seconds": statistics.median(r["seconds"] for r in runs[variant]),
                        "rss_mb": max(r["rss_mb"] for r in runs[variant]),
                    }
                )
                print(json.dumps(results[-1]), file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _print_table(results)


def _seed(connection, size: int) -> None:
    """`size` users in one statement; created_at one second apart with varied microseconds."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE accounts_user CASCADE")
        cursor.execute(
            """
            INSERT INTO accounts_user
                (id, password, last_login, username, email, role, is_active, created_at)
            SELECT gen_random_uuid(), '!', NULL, 'user' || i, 'user' || i || '@example.com',
                   CASE WHEN i %% 100 = 0 THEN 'ADMIN' ELSE 'USER' END,
                   i %% 10 <> 0,
                   timestamptz '2020-01-01' + i * interval '1 second'
                       + (i %% 7) * interval '1 microsecond'
            FROM generate_series(1, %s) AS i
            """,
            [size],
        )
        cursor.execute("VACUUM ANALYZE accounts_user")
    print(f"seeded {size:,} users in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def _run(variant: str, url: str, literal_sql: str, work: Path) -> dict:
    """One export in a fresh process, under GNU time: its %M is the peak RSS of that process alone
    (wait4() from this big parent would report the RSS the child inherited at fork)."""
    out = work / f"{variant}.csv"
    stats = work / "time.txt"
    if variant == "psql":
        command = [
            "psql",
            url,
            "-qc",
            f"\\copy ({literal_sql}) TO '{out}' WITH (FORMAT csv, HEADER)",
        ]
    else:
        command = [sys.executable, __file__, "--child", variant]
    timed = ["/usr/bin/time", "-f", "%M %e", "-o", str(stats), *command]
    completed = subprocess.run(timed, cwd=BASE_DIR, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"{variant} failed: {completed.stderr[-2000:]}")
    peak_kb, wall = stats.read_text().split()
    if variant == "psql":
        measured = {"seconds": float(wall), "rows": _data_lines(out)}
        out.unlink()
    else:
        measured = json.loads(completed.stdout.strip().splitlines()[-1])
    return {**measured, "rss_mb": int(peak_kb) / 1024}


def _data_lines(path: Path) -> int:
    with path.open("rb") as file:
        return sum(1 for _ in file) - 1


def _child(variant: str) -> None:
    """Runs in a fresh process: one export, timed around the export alone, JSON on stdout."""
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.core.files.storage import default_storage

    if variant == "project":
        from tasks_app.services.reports.export import report_generate
        from tasks_app.services.reports.requests import report_create

        report = report_create(requested_by=None, filters=FILTERS)
        started = time.perf_counter()
        summary = report_generate(report_id=report.pk)
        seconds = time.perf_counter() - started
        assert summary["status"] == "completed", summary
        default_storage.delete(summary["file"])
        report.delete()
        rows = summary["rows"]
    else:
        import csv
        import io

        from accounts.models import User

        started = time.perf_counter()
        # The seed: fetchall() into a list, then the whole CSV in a StringIO.
        users = list(
            User.objects.filter(**FILTERS).values_list(
                "id", "username", "role", "is_active", "created_at"
            )
        )
        output = io.StringIO()
        writer = csv.writer(output)
        writer.writerow(["ID", "Username", "Role", "Active", "Created At"])
        for user_id, username, role, is_active, created_at in users:
            writer.writerow([str(user_id), username, role, is_active, created_at.isoformat()])
        content = output.getvalue()
        seconds = time.perf_counter() - started
        rows = len(content.splitlines()) - 1
    print(json.dumps({"seconds": seconds, "rows": rows}))


def _print_table(results: list[dict]) -> None:
    floors = {r["users"]: r["seconds"] for r in results if r["variant"] == "psql"}
    print("| users | variant | rows exported | median s | x psql | peak RSS MB |")
    print("|---:|---|---:|---:|---:|---:|")
    for r in results:
        ratio = r["seconds"] / floors[r["users"]]
        print(
            f"| {r['users']:,} | {r['variant']} | {r['rows']:,} | {r['seconds']:.2f} "
            f"| {ratio:.2f} | {r['rss_mb']:.0f} |"
        )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        _child(sys.argv[2])
    else:
        main()
