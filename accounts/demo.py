"""Demo accounts for `manage.py seed_demo`: realistic users and API sessions, inserted in bulk.

Demo users have unusable passwords (no one can log in as them): hashing 100,000 real passwords
would take minutes. Their tokens are random and thrown away; only their hashes are stored.
"""

from __future__ import annotations

import datetime
import random
import secrets
from collections.abc import Callable

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import transaction

from accounts.models import AuthSession, Role, User
from accounts.services import token_hash

FIRST_NAMES = (
    "ada", "alan", "amir", "ana", "anna", "ben", "chen", "chloe", "dan", "dara", "eli", "emma",
    "fatima", "finn", "grace", "hana", "ivan", "jade", "jonas", "kai", "lara", "leo", "lin",
    "luca", "maya", "mia", "nina", "noah", "omar", "priya", "ravi", "rosa", "sam", "sara",
    "tariq", "tom", "uma", "vera", "wei", "yara", "yusuf", "zoe",
)  # fmt: skip
LAST_NAMES = (
    "adams", "bauer", "costa", "dubois", "evans", "fischer", "garcia", "haddad", "ito", "jensen",
    "kim", "lopez", "meyer", "nakamura", "novak", "okafor", "patel", "quinn", "rossi", "silva",
    "smith", "tanaka", "umar", "vargas", "wang", "weber", "xu", "young", "zhang",
)  # fmt: skip
# One user in a hundred is an admin, one in a thousand a super admin; one in ten is inactive.
ROLES = (Role.USER, Role.ADMIN, Role.SUPER_ADMIN)
ROLE_WEIGHTS = (989, 10, 1)
INACTIVE_SHARE = 0.1
SESSION_SHARE = 0.2  # of active users; a third of those sessions have expired
USER_AGENTS = ("curl/8.5.0", "python-requests/2.32", "Mozilla/5.0 (X11; Linux x86_64)")
SPAN = datetime.timedelta(days=730)
BATCH = 5_000


def demo_user(*, rng: random.Random, number: int, now: datetime.datetime) -> User:
    """One demo user: name-like username and email, a role and an age within two years."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    name = f"{first}.{last}{number}"
    return User(
        username=name,
        email=f"{name}@example.com",
        password=UNUSABLE_PASSWORD_PREFIX + secrets.token_hex(20),  # make_password(None), faster
        role=rng.choices(ROLES, ROLE_WEIGHTS)[0],
        is_active=rng.random() >= INACTIVE_SHARE,
        created_at=now - SPAN * rng.random(),
    )


def demo_session(*, rng: random.Random, user: User, now: datetime.datetime) -> AuthSession:
    """An API session of `user`: live (used lately) or expired (a third of them)."""
    created = max(user.created_at, now - datetime.timedelta(days=60) * rng.random())
    expired = rng.random() < 1 / 3
    expires = now - datetime.timedelta(hours=rng.uniform(1, 500)) if expired else None
    return AuthSession(
        user=user,
        token_hash=token_hash(secrets.token_urlsafe(16)),
        created_at=created,
        expires_at=expires or now + datetime.timedelta(hours=rng.uniform(1, 24 * 14)),
        last_used_at=(expires or now) - datetime.timedelta(minutes=rng.uniform(1, 600)),
        user_agent=rng.choice(USER_AGENTS),
        ip_address=f"192.0.2.{rng.randint(1, 254)}",  # TEST-NET-1: documentation addresses
    )


def demo_users_create(
    *,
    count: int,
    rng: random.Random,
    now: datetime.datetime,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Insert `count` demo users and their sessions in batches of BATCH rows; `on_batch` is
    told how many users each batch added. Returns the sessions created."""
    sessions = 0
    first = User.objects.count() + 1  # numbers no earlier demo used: names stay unique
    for start in range(first, first + count, BATCH):
        users = [
            demo_user(rng=rng, number=number, now=now)
            for number in range(start, min(start + BATCH, first + count))
        ]
        with transaction.atomic():
            User.objects.bulk_create(users)
            rows = [
                demo_session(rng=rng, user=user, now=now)
                for user in users
                if user.is_active and rng.random() < SESSION_SHARE
            ]
            AuthSession.objects.bulk_create(rows)
        sessions += len(rows)
        if on_batch:
            on_batch(len(users))
    return sessions
