"""Throttling of failed logins per client."""

from __future__ import annotations

import ipaddress

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView


class LoginFailureThrottle(SimpleRateThrottle):
    """Refuses logins from a client that failed too often (rate `login_failures`).

    Unlike DRF's rate throttles it counts only failures, recorded by the login view, so a user
    who logs in correctly many times is never locked out, while guessing passwords is slowed
    to the rate. The client is the address DRF's `NUM_PROXIES` setting names (the peer address
    unless proxies are configured), so a forged X-Forwarded-For does not reset the count.
    """

    scope = "login_failures"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        self.now = self.timer()
        self.history = [t for t in self.cache.get(self.key, []) if t > self.now - self.duration]
        if len(self.history) >= self.num_requests:
            return self.throttle_failure()
        return True

    def record_failure(self, request: Request, view: APIView) -> None:
        """Count one failed login of this client."""
        if self.rate is None:
            return
        if not hasattr(self, "key"):
            self.allow_request(request, view)
        self.cache.set(self.key, [self.now, *self.history], self.duration)


def client_ip(request: Request) -> str | None:
    """The client's address as the throttle sees it, or None when it is not an IP address."""
    ident = LoginFailureThrottle().get_ident(request)
    try:
        return str(ipaddress.ip_address(ident))
    except ValueError:
        return None
