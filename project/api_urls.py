"""Everything under /api/."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from project.errors import api_not_found
from project.health import HealthView

urlpatterns = [
    path("health/", HealthView.as_view(), name="health"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Staff only unless API_DOCS_PUBLIC (project.api_docs); no inline script (CSP).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("", include("tasks_app.urls")),
    path("", include("accounts.urls")),
    # Last: every other path under /api/ is the API's JSON 404, never Django's HTML page.
    re_path(r"^(?P<unmatched>.*)$", api_not_found),
]
