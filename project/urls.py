from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/", include("project.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Staff only unless API_DOCS_PUBLIC (project.api_docs); no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
]

# JSON errors for /api/ requests that Django answers before any API view (used when DEBUG is off).
handler400 = "project.errors.bad_request"
handler404 = "project.errors.page_not_found"
handler500 = "project.errors.server_error"
