"""Dates in the viewer's time zone: the browser names its zone in the `viewer_tz` cookie
(project/static/project/viewer-timezone.js, loaded by every admin page); anything else, or no
cookie, leaves TIME_ZONE (UTC). Stored times stay UTC; only what a page shows changes."""

from __future__ import annotations

import datetime
import functools
import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

COOKIE = "viewer_tz"


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class ViewerTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = request.COOKIES.get(COOKIE, "")
        if name in _known_zones():
            timezone.activate(zoneinfo.ZoneInfo(name))
        else:
            timezone.deactivate()
        return self.get_response(request)


def local_time(moment: datetime.datetime) -> str:
    """`moment` as the viewer reads it: "2026-12-04 17:02:07 CET"."""
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M:%S %Z}"
