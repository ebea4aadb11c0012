"""Everything under /api/."""

from django.urls import include, path

from project.health import HealthView

urlpatterns = [
    path("health/", HealthView.as_view(), name="health"),
    path("", include("tasks_app.urls")),
    path("", include("accounts.urls")),
]
