"""The beat lease: one holder at a time, renewed by it, taken by another only once expired."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from tasks_app.models import BeatLease
from tasks_app.services.beat_lease import beat_lease_release, beat_lease_take

pytestmark = pytest.mark.django_db


def test_the_first_beat_takes_the_lease_and_a_second_does_not():
    assert beat_lease_take(holder="h:1", seconds=30)
    assert not beat_lease_take(holder="h:2", seconds=30)
    assert beat_lease_take(holder="h:1", seconds=30)  # renewed by its holder
    lease = BeatLease.objects.get()
    assert lease.holder == "h:1"
    assert lease.expires_at > timezone.now() + datetime.timedelta(seconds=20)


def test_an_expired_lease_is_taken_by_another_beat():
    beat_lease_take(holder="h:1", seconds=30)
    BeatLease.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert beat_lease_take(holder="h:2", seconds=30)
    assert not beat_lease_take(holder="h:1", seconds=30)  # the old holder lost it


def test_a_released_lease_is_free_at_once():
    beat_lease_take(holder="h:1", seconds=30)
    beat_lease_release(holder="h:1")
    beat_lease_release(holder="h:3")  # not the holder: changes nothing
    assert beat_lease_take(holder="h:2", seconds=30)
