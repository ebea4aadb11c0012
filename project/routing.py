"""One URL, one view per operation: `by_method(get=UserListApi, post=UserCreateApi)` in a path().

Django maps a URL to one view, while the house style gives every operation its own APIView (its
own serializers, permissions and schema). `by_method()` hands each request to the view of its
HTTP method, so every request passes through exactly one operation's APIView: its authentication,
permissions, throttles and error shape, nothing of a shared class. Other methods get DRF's JSON 405
(OPTIONS its metadata) from the route itself.

drf-spectacular documents a URL through the view class behind it: the route's class lists the
methods, and its schema hands each operation to that operation's own view and `@extend_schema`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.http import HttpRequest, HttpResponseBase
from drf_spectacular.openapi import AutoSchema
from rest_framework.views import APIView


class _OperationSchema(AutoSchema):
    """Each method's operation as its own view describes it."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        view_class = self.view.operations[method.lower()]
        view = view_class()
        view.args, view.kwargs, view.format_kwarg = self.view.args, self.view.kwargs, None
        view.request = self.view.request
        view.swagger_fake_view = True
        # @extend_schema on a method leaves its schema class there (drf-spectacular's create_view).
        handler = getattr(view_class, method.lower())
        schema = getattr(handler, "kwargs", {}).get("schema", type(view.schema))()
        schema.view = view
        return schema.get_operation(path, path_regex, path_prefix, method, registry)


class _Route(APIView):
    operations: ClassVar[dict[str, type[APIView]]]
    handlers: ClassVar[dict[str, Callable[..., HttpResponseBase]]]
    schema = _OperationSchema()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        handler = self.handlers.get(request.method.lower())
        if handler is None:
            return super().dispatch(request, *args, **kwargs)
        return handler(request, *args, **kwargs)


def by_method(**operations: type[APIView]) -> Callable[..., HttpResponseBase]:
    """A URL's view that serves each HTTP method (`get=`, `post=`, ...) with its own APIView."""
    handlers = {method: view.as_view() for method, view in operations.items()}
    if "get" in handlers:
        handlers["head"] = handlers["get"]
    name = "".join(view.__name__.removesuffix("Api") for view in operations.values()) + "Route"
    attributes = {"operations": operations, "handlers": handlers}
    # The methods exist for DRF's Allow header and drf-spectacular's list of operations; requests
    # for them never reach the route's own dispatch.
    attributes.update({method: handlers[method] for method in operations})
    return type(name, (_Route,), attributes).as_view()
