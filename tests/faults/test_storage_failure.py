"""Faults: the disk fills up under a report (its temporary file, or the storage it is saved to),
and the S3 server goes away and comes back.

Real parts: a worker process, a 1 MB tmpfs mounted for the test (root only) and filled to its
last 32 KB, moto's S3 server stopped and started again. Each report is about 200 KB.

What must hold: the report ends failed with the reason; no partial file is left (neither the
temporary `.part` file nor a half-saved one); once the space is back (or S3), the next report on
the same worker completes.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks_app.models import UserReport
from tasks_app.services.reports.requests import report_request
from tests.support.s3 import RestartableS3Server
from tests.support.services import unavailable
from tests.support.worker import private_queue
from tests.tasks_app.reports.conftest import wait_finished

pytestmark = pytest.mark.django_db(transaction=True)

USERS = 2000
Status = UserReport.Status


@pytest.fixture
def full_disk() -> Iterator[tuple[Path, Path]]:
    """A 1 MB tmpfs with 32 KB left; (its mount point, the file that fills it)."""
    mount = Path(tempfile.mkdtemp(prefix="full-disk-"))
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        mount.rmdir()
        unavailable(f"cannot mount a tmpfs (root needed): {done.stderr.strip()}")
    filler = mount / "filler"
    try:
        filler.write_bytes(b"\0" * (1024 * 1024 - 32 * 1024))
        yield mount, filler
    finally:
        subprocess.run(["umount", str(mount)], check=True)
        mount.rmdir()


@pytest.fixture
def reports_worker(settings, start_worker, seed_users):
    """`reports_worker(**env)`: a worker on a private reports queue, with USERS to export."""
    seed_users(USERS)
    route = private_queue(settings, "reports", f"reports-{uuid.uuid4().hex[:8]}")
    return lambda **env: start_worker(queues=route["CELERY_REPORTS_QUEUE"], **route, **env)


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("full", ["temporary file", "storage"])
def test_a_report_on_a_full_disk_fails_with_the_reason_and_leaves_no_file(
    full, full_disk, reports_worker, tmp_path
):
    mount, filler = full_disk
    folders = {"REPORT_TMP_DIR": tmp_path / "tmp", "MEDIA_ROOT": tmp_path / "media"}
    folders["REPORT_TMP_DIR" if full == "temporary file" else "MEDIA_ROOT"] = mount / "reports"
    reports_worker(**{name: str(path) for name, path in folders.items()})

    failed = wait_finished(report_request(requested_by=None, filters={}))
    left = {name: files_under(path) for name, path in folders.items() if path.exists()}
    filler.unlink()  # the space is back
    following = wait_finished(report_request(requested_by=None, filters={}))

    print(f"full {full}: {failed.status} with {failed.error!r}; files left {left}")
    assert failed.status == Status.FAILED and "No space left on device" in failed.error
    assert not failed.file
    assert all(files in ([], ["filler"]) for files in left.values()), left
    assert following.status == Status.COMPLETED, following.error
    assert following.row_count == USERS
    saved = folders["MEDIA_ROOT"] / following.file.name
    assert saved.stat().st_size > 32 * 1024  # more than the space that was left
    assert os.listdir(folders["REPORT_TMP_DIR"]) == []


def test_a_report_fails_while_s3_is_unreachable_and_the_next_one_works(reports_worker, tmp_path):
    s3 = RestartableS3Server().start()
    try:
        tmp = tmp_path / "tmp"
        reports_worker(**s3.server.env(), REPORT_TMP_DIR=str(tmp))
        s3.stop()
        failed = wait_finished(report_request(requested_by=None, filters={}), timeout=120)
        s3.start()  # empty, as after an outage that lost nothing of ours
        following = wait_finished(report_request(requested_by=None, filters={}))
        objects = s3.server.client().list_objects_v2(Bucket=s3.server.bucket).get("Contents", [])
    finally:
        s3.stop()

    print(f"S3 down: {failed.status} with {failed.error!r}")
    assert failed.status == Status.FAILED and "Could not connect" in failed.error, failed.error
    assert not failed.file and os.listdir(tmp) == []
    assert following.status == Status.COMPLETED, following.error
    assert [o["Key"] for o in objects] == [following.file.name]
    assert following.row_count == USERS
