"""The project's URLs plus a view that fails, to read the 500 page (see served_settings)."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from project.urls import handler400, handler404, handler500  # noqa: F401


def fail(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in a view")


urlpatterns = [
    path("fail/", fail),
    path("api/fail/", fail),
    path("", include("project.urls")),
]
