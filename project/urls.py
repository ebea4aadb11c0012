from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from project.metrics import metrics

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/", include("project.api_urls")),
    # Prometheus' default path; a bearer token or staff only (project.metrics).
    path("metrics", metrics, name="metrics"),
]

# JSON errors for /api/ requests that Django answers before any API view (used when DEBUG is off).
handler400 = "project.errors.bad_request"
handler404 = "project.errors.page_not_found"
handler500 = "project.errors.server_error"
