"""Statements sent with the COMMIT (project.postgres): written exactly when the transaction's
other statements are, in one query with the COMMIT when nothing follows them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the project's Postgres backend"),
]

INSERT = "INSERT INTO auth_group (name) VALUES (%s)"


def queue_group(name: str) -> None:
    connection.execute_with_commit(INSERT, [name])


def group_names() -> list[str]:
    return sorted(Group.objects.values_list("name", flat=True))


def test_a_queued_statement_goes_with_the_commit_in_one_query():
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        Group.objects.create(name="the caller's row")
        queue_group("queued")

    sent = [q["sql"] for q in queries.captured_queries]
    assert len(sent) == 3  # BEGIN, the caller's INSERT, then the queued INSERT with the COMMIT
    assert sent[0] == "BEGIN"
    assert sent[2] == f"{INSERT};\nCOMMIT"
    assert group_names() == ["queued", "the caller's row"]
    assert not connection.in_atomic_block and connection.connection.info.transaction_status == 0


def test_the_next_statement_sends_it_first_so_the_transaction_reads_it():
    with transaction.atomic():
        queue_group("queued")
        assert group_names() == ["queued"]
        assert Group.objects.filter(name="queued").update(name="renamed") == 1

    assert group_names() == ["renamed"]


def test_a_rolled_back_transaction_drops_it():
    with pytest.raises(RuntimeError), transaction.atomic():
        Group.objects.create(name="the caller's row")
        queue_group("queued")
        raise RuntimeError("the request failed")

    assert group_names() == []
    with transaction.atomic():  # nothing left over for the connection's next transaction
        Group.objects.create(name="next")
    assert group_names() == ["next"]


def test_a_rolled_back_savepoint_takes_what_it_queued_and_keeps_the_rest():
    with transaction.atomic():
        queue_group("outer")
        with pytest.raises(RuntimeError), transaction.atomic():
            queue_group("inner")
            raise RuntimeError("the inner block failed")
        with transaction.atomic():
            queue_group("released")

    assert group_names() == ["outer", "released"]


def test_a_failing_queued_statement_fails_the_commit_and_rolls_everything_back():
    Group.objects.create(name="taken")

    with pytest.raises(IntegrityError), transaction.atomic():
        Group.objects.create(name="the caller's row")
        queue_group("taken")

    assert group_names() == ["taken"]
    assert connection.connection.info.transaction_status == 0  # idle, usable
    assert Group.objects.count() == 1


def test_outside_a_transaction_it_runs_at_once():
    with CaptureQueriesContext(connection) as queries:
        queue_group("at once")

    assert [q["sql"] for q in queries.captured_queries] == [INSERT % "'at once'"]
    assert group_names() == ["at once"]


def test_several_statements_go_with_one_commit():
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        for name in ["a", "b", "c"]:
            queue_group(name)

    assert queries.captured_queries[-1]["sql"] == ";\n".join([INSERT] * 3 + ["COMMIT"])
    assert group_names() == ["a", "b", "c"]
