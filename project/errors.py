"""One error type for business rules and one DRF exception handler for every error of the API.

Every error body has the same shape, so a client needs one code path:

    {"message": "Invalid input.", "errors": {"email": ["A user with that email already exists."]}}

`errors` maps field names to messages (`non_field_errors` for the rest) and is `{}` when no field
is to blame. Services raise Django's `ValidationError` or an `ApplicationError`; views never catch.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, serializers
from rest_framework.response import Response

NON_FIELD_ERRORS = "non_field_errors"


class ApplicationError(Exception):
    """A business rule refused the operation. `status_code` is the HTTP status the API answers."""

    status_code = 400

    def __init__(self, message: str, *, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class AuthenticationError(ApplicationError):
    """Credentials were wrong, or the account may not log in (the API answers 401)."""

    status_code = 401


class PermissionDeniedError(ApplicationError):
    """The caller is authenticated but may not do this (the API answers 403)."""

    status_code = 403


class ErrorSerializer(serializers.Serializer):
    """The body of every error response (used by the OpenAPI schema)."""

    message = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


# The error responses every authenticated endpoint can give, for `extend_schema(responses=...)`.
ERROR_RESPONSES = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer}


def _django_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            (NON_FIELD_ERRORS if field == "__all__" else field): messages
            for field, messages in exc.message_dict.items()
        }
    return {NON_FIELD_ERRORS: exc.messages}


def _flatten(detail: Any) -> list[str]:
    """DRF details nest (lists of dicts for `many=True`); the client gets plain strings."""
    if isinstance(detail, dict):
        return [message for value in detail.values() for message in _flatten(value)]
    if isinstance(detail, list):
        return [message for value in detail for message in _flatten(value)]
    return [str(detail)]


def _drf_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Field errors keyed by field; a nested object's by a dotted path (`filters.role`)."""
    if not isinstance(detail, dict):
        return {prefix.removesuffix(".") or NON_FIELD_ERRORS: _flatten(detail)}
    errors: dict[str, list[str]] = {}
    for field, value in detail.items():
        if isinstance(value, dict):
            errors.update(_drf_errors(value, prefix=f"{prefix}{field}."))
        else:
            errors[f"{prefix}{field}"] = _flatten(value)
    return errors


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Turn any expected error into `{"message", "errors"}`; anything else stays a 500."""
    # Imported here: services import this module, and DRF's views import the authentication
    # classes (which use services) while loading its settings.
    from rest_framework.views import exception_handler as drf_exception_handler
    from rest_framework.views import set_rollback

    if isinstance(exc, DjangoValidationError | ApplicationError):
        set_rollback()
    if isinstance(exc, DjangoValidationError):
        body = {"message": "Invalid input.", "errors": _django_errors(exc)}
        return Response(body, status=400)
    if isinstance(exc, ApplicationError):
        return Response({"message": exc.message, "errors": exc.errors}, status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    # DRF sets the headers (WWW-Authenticate, Retry-After) and rolls back the transaction.
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"message": "Invalid input.", "errors": _drf_errors(exc.detail)}
    else:
        response.data = {"message": _flatten(exc.detail)[0] if exc.detail else "", "errors": {}}
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """`handler400`: what Django refuses before DRF sees it (a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE, a disallowed host) is JSON under /api/ too."""
    if _is_api(request):
        return JsonResponse({"message": "Bad request.", "errors": {}}, status=400)
    return defaults.bad_request(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """`handler404`: JSON under /api/ (a path no view matches), Django's page elsewhere."""
    if _is_api(request):
        return JsonResponse({"message": "Not found.", "errors": {}}, status=404)
    return defaults.page_not_found(request, exception)


@csrf_exempt  # it changes nothing: a POST to a wrong path is a 404, not a CSRF page
def api_not_found(request: HttpRequest, unmatched: str = "") -> JsonResponse:
    """The last URL under /api/: a path no API view matches, or an id its converter refuses
    (`/api/reports/null%2Cnull/`), is the API's JSON 404 with debug on or off."""
    return JsonResponse({"message": "Not found.", "errors": {}}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """`handler500`: nothing should get here, but if it does, an API client still gets JSON."""
    if _is_api(request):
        return JsonResponse({"message": "Internal server error.", "errors": {}}, status=500)
    return defaults.server_error(request)
