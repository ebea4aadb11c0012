"""A report's file as an HTTP download, for the API and the admin alike."""

from __future__ import annotations

from django.http import FileResponse

from project.errors import ApplicationError
from tasks_app.models import UserReport


class ReportNotReady(ApplicationError):
    """Only a completed report has a file (the API answers 409)."""

    status_code = 409


class ReportFileGone(ApplicationError):
    """The report says completed but storage no longer has its file (deleted by hand, a lost
    bucket): 410, and the person is told to request it again, instead of a 500."""

    status_code = 410


def report_file_response(report: UserReport) -> FileResponse:
    """The report's CSV streamed from storage as an attachment."""
    if not report.is_completed():
        raise ReportNotReady(f"The report is {report.status}; only a completed one has a file.")
    try:
        content = report.file.open("rb")
    except FileNotFoundError:
        raise ReportFileGone(
            "The report's file is no longer in storage; request the report again."
        ) from None
    return FileResponse(
        content,
        as_attachment=True,
        filename=report.file_basename(),
        content_type="text/csv; charset=utf-8",
    )
