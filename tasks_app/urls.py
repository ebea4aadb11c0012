"""REST endpoints of the background-task app (mounted under /api/)."""

urlpatterns: list = []
