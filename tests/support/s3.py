"""A real S3 API server for tests: moto's standalone server, started and stopped by pid."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3

from tests.support import processes
from tests.support.polling import wait_for
from tests.support.ports import accepts, free_port

LOG_DIR = Path(__file__).resolve().parents[2] / "var" / "test" / "logs"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    bucket: str
    access_key: str = "test-access-key"
    secret_key: str = "test-secret-key"  # moto accepts any key

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )

    def env(self) -> dict[str, str]:
        """The variables that point the project's report storage at this server's bucket."""
        return {
            "REPORT_STORAGE": "s3",
            "AWS_STORAGE_BUCKET_NAME": self.bucket,
            "AWS_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_S3_REGION_NAME": REGION,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }


@contextmanager
def running_s3_server() -> Iterator[S3Server]:
    """moto_server on a free port with one empty bucket, stopped by its pid on exit. Wrap it in a
    fixture: `with running_s3_server() as server: yield server`."""
    port = free_port()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    process = processes.spawn(
        [sys.executable, "-m", "moto.server", "--host", "127.0.0.1", "--port", str(port)],
        log_path=LOG_DIR / f"moto-{port}.log",
    )
    try:
        wait_for(
            lambda: process.poll() is not None or accepts(port),
            timeout=30,
            what="moto's S3 server",
        )
        assert process.poll() is None, f"moto_server exited with {process.returncode}"
        server = S3Server(
            endpoint_url=f"http://127.0.0.1:{port}", bucket=f"reports-{uuid.uuid4().hex[:8]}"
        )
        server.client().create_bucket(Bucket=server.bucket)
        yield server
    finally:
        processes.stop(process)


class RestartableS3Server:
    """moto_server on one port that a fault test stops and starts again; moto keeps its buckets
    in memory, so each start creates the (empty) bucket again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.server = S3Server(
            endpoint_url=f"http://127.0.0.1:{self.port}", bucket=f"reports-{uuid.uuid4().hex[:8]}"
        )
        self.process = None

    def start(self) -> RestartableS3Server:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "moto.server", "--host", "127.0.0.1"]
        self.process = processes.spawn(
            [*command, "--port", str(self.port)], log_path=LOG_DIR / f"moto-{self.port}.log"
        )
        wait_for(
            lambda: self.process.poll() is not None or accepts(self.port),
            timeout=30,
            what="moto's S3 server",
        )
        assert self.process.poll() is None, f"moto_server exited with {self.process.returncode}"
        self.server.client().create_bucket(Bucket=self.server.bucket)
        return self

    def stop(self) -> None:
        if self.process:
            processes.stop(self.process)
        wait_for(lambda: not accepts(self.port), timeout=10, what="moto to stop")
