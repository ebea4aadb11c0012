"""Failed-login throttling for the admin and the API: django-axes, counting in Django's cache.

One mechanism for both logins. `AUTHENTICATION_BACKENDS` starts with axes' backend, so every
`authenticate(request, ...)` (the admin's login form, `accounts.services.auth_session_create`)
is checked; `axes.middleware.AxesMiddleware` turns a refused attempt into `lockout_response`.

Attempts are counted per account and per client address, each in its own cache key, and an
attempt counts *before* its password is checked (`LoginAttemptHandler`): checking first and
counting after a slow password hash lets any number of concurrent guesses through.
"""

from __future__ import annotations

import ipaddress
from contextlib import suppress
from typing import Any

from axes.handlers.cache import AxesCacheHandler
from axes.helpers import get_cache, get_cache_timeout, get_client_cache_keys, get_failure_limit
from axes.signals import user_locked_out
from django.conf import settings
from django.core.cache.backends.base import BaseCache
from django.http import HttpRequest, HttpResponse, JsonResponse


class LoginAttemptHandler(AxesCacheHandler):
    """axes' cache handler, counting each attempt atomically (`cache.add` then `cache.incr`,
    one round trip each on Redis) when it is checked, instead of each failure after the fact.

    The window is fixed from an address's or account's first attempt (`LOGIN_FAILURES_RATE`'s
    period), so a guesser cannot keep an account locked for longer by trying on. A successful
    login gives its attempt back, so successes never lock anyone out.
    """

    def __init__(self) -> None:
        """No cache bound once for the process (axes' default): Django's cache connections
        belong to a thread, so each call takes the current thread's."""

    @property
    def cache(self) -> BaseCache:
        return get_cache()

    def is_locked(self, request: HttpRequest, credentials: dict | None = None) -> bool:
        timeout = get_cache_timeout(request)
        keys = get_client_cache_keys(request, credentials)
        request.axes_attempt_keys = keys
        request.axes_attempts = max((self._count(key, timeout) for key in keys), default=0)
        return request.axes_attempts > get_failure_limit(request, credentials)

    def _count(self, key: str, timeout: int | None) -> int:
        if self.cache.add(key, 1, timeout):
            return 1
        try:
            return self.cache.incr(key)
        except ValueError:  # expired between add and incr: this attempt opens a new window
            self.cache.add(key, 1, timeout)
            return 1

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs) -> None:
        attempts = getattr(request, "axes_attempts", None)
        if attempts is None:  # not checked by the backend (no request): nothing was counted
            super().user_login_failed(sender, credentials, request, **kwargs)
            return
        request.axes_failures_since_start = attempts
        if attempts > get_failure_limit(request, credentials):
            request.axes_locked_out = True
            request.axes_credentials = credentials
            user_locked_out.send(
                "axes",
                request=request,
                username=credentials.get(settings.AXES_USERNAME_FORM_FIELD),
                ip_address=request.axes_ip_address,
            )

    def user_logged_in(self, sender, request, user, **kwargs) -> None:
        for key in getattr(request, "axes_attempt_keys", ()):
            with suppress(ValueError):  # the window ended meanwhile
                self.cache.decr(key)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address (`AXES_CLIENT_IP_CALLABLE`): the peer's, or with `TRUSTED_PROXIES`
    = n the n-th address from the right of X-Forwarded-For, the one the nearest trusted proxy
    saw. A client cannot reset its count with a forged X-Forwarded-For; None for a non-IP."""
    address = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if settings.TRUSTED_PROXIES and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",")]
        address = hops[-min(settings.TRUSTED_PROXIES, len(hops))]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any
) -> HttpResponse:
    """`AXES_LOCKOUT_CALLABLE`: 429 with Retry-After; the API's error shape under /api/."""
    retry_after = get_cache_timeout(request) or 60
    message = f"Too many failed logins; try again in {retry_after} seconds."
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"message": message, "errors": {}}, status=429)
    else:
        response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(retry_after)
    return response
