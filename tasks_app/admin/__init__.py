"""Admin pages of the background-task app, one module per concern."""

from tasks_app.admin.reports import UserReportAdmin, generate_csv_report  # noqa: F401
