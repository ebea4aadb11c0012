"""The beat lease: only the beat holding it sends, so a second beat is a standby, not a double.

One conditional UPDATE takes the lease when it is free or expired, or renews it for its holder
(healthchecks' claim: 0 rows changed means someone else holds it). The expiry is computed and
compared on the database's clock. A holder renews at every tick (at most every 5 s) and in the
transaction of every run it sends, so a run is committed only by the holder of an unexpired
lease: while its UPDATE holds the row, no other beat can take the lease, and a beat that lost it
(paused, cut off from the database) sends nothing. A SIGKILLed holder's lease expires after
`BEAT_LEASE_SECONDS`; a standby takes it at its next try (every few seconds).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db.models import DateTimeField, ExpressionWrapper, Q, Value
from django.db.models.functions import Now

from tasks_app.models import BeatLease

LEASE = "beat"
_FREE = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


def beat_lease_take(*, holder: str, seconds: int | None = None) -> bool:
    """Take or renew the lease for `holder`; True if it holds it for `seconds` from now."""
    seconds = seconds if seconds is not None else settings.BEAT_LEASE_SECONDS
    expires = ExpressionWrapper(
        Now() + Value(datetime.timedelta(seconds=seconds)), output_field=DateTimeField()
    )
    claimable = Q(holder=holder) | Q(expires_at__lt=Now())
    if BeatLease.objects.filter(claimable, name=LEASE).update(holder=holder, expires_at=expires):
        return True
    if BeatLease.objects.filter(name=LEASE).exists():
        return False
    BeatLease.objects.bulk_create([BeatLease(name=LEASE, expires_at=_FREE)], ignore_conflicts=True)
    return bool(
        BeatLease.objects.filter(claimable, name=LEASE).update(holder=holder, expires_at=expires)
    )


def beat_lease_release(*, holder: str) -> None:
    """Free the lease at once (a beat that stops), so a standby need not wait for its expiry."""
    # Long expired, not "now": the clock's resolution (SQLite's milliseconds) must not leave it
    # held for one more tick.
    BeatLease.objects.filter(name=LEASE, holder=holder).update(expires_at=_FREE)
