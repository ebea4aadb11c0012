"""Report files: FileSystemStorage in the embedded run; with REPORT_STORAGE=s3 a private bucket,
tested against a real S3 API server (moto's)."""

from __future__ import annotations

import runpy
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages
from storages.backends.s3 import S3Storage

from project.env import ConfigurationError, load_env
from tests.support.s3 import running_s3_server

ROOT = Path(__file__).resolve().parents[2]
STORAGE_VARIABLES = [
    "REPORT_STORAGE",
    "AWS_STORAGE_BUCKET_NAME",
    "AWS_S3_ENDPOINT_URL",
    "AWS_S3_REGION_NAME",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_QUERYSTRING_AUTH",
]


@pytest.fixture(scope="module")
def s3_server():
    with running_s3_server() as server:
        yield server


def configured_storage(monkeypatch, **env: str):
    """The report storage that project/settings.py configures for this environment."""
    for name in STORAGE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = runpy.run_path(str(ROOT / "project" / "settings.py"))
    return storages.create_storage(settings["STORAGES"]["default"])


def test_embedded_default_keeps_files_on_disk(monkeypatch):
    assert type(configured_storage(monkeypatch)) is FileSystemStorage


def test_s3_without_a_bucket_is_a_configuration_error(monkeypatch):
    monkeypatch.setenv("REPORT_STORAGE", "s3")
    monkeypatch.delenv("AWS_STORAGE_BUCKET_NAME", raising=False)
    with pytest.raises(ConfigurationError, match="AWS_STORAGE_BUCKET_NAME must be set"):
        load_env()


def test_report_file_round_trips_through_s3_and_delete_removes_the_object(monkeypatch, s3_server):
    storage = configured_storage(monkeypatch, **s3_server.env())
    assert isinstance(storage, S3Storage)

    name = storage.save("reports/2026/12/users.csv", ContentFile(b"id,email\n1,a@example.com\n"))
    with storage.open(name, "rb") as stored:
        assert stored.read() == b"id,email\n1,a@example.com\n"
    client = s3_server.client()
    assert client.head_object(Bucket=s3_server.bucket, Key=name)["ContentLength"] == 25

    storage.delete(name)  # what FieldFile.delete() (the report expiry) calls
    listed = client.list_objects_v2(Bucket=s3_server.bucket, Prefix="reports/")
    assert listed["KeyCount"] == 0


def test_s3_objects_are_private(monkeypatch, s3_server):
    storage = configured_storage(monkeypatch, **s3_server.env())
    name = storage.save("reports/2026/12/private.csv", ContentFile(b"id\n1\n"))

    grants = s3_server.client().get_object_acl(Bucket=s3_server.bucket, Key=name)["Grants"]
    assert all("URI" not in grant["Grantee"] for grant in grants), grants  # no AllUsers grant
    url = storage.url(name)
    assert "Signature" not in url and "X-Amz" not in url  # no querystring auth unless asked
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=10)
    assert refused.value.code == 403
