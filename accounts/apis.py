"""REST endpoints for login, logout and users. Each view parses input, calls one service or
selector, and formats the output; errors are raised and shaped by `project.errors`.

One view per operation, named `<Thing><Operation>Api`. Where two operations share a URL (list and
create users; read and change one user), `project.routing.by_method` in accounts/urls.py routes
each HTTP method to its own view, and the schema documents each from that view.
"""

from __future__ import annotations

from django.contrib.auth import logout
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.filters import UserFilterSet
from accounts.models import AuthSession, Role, User
from accounts.permissions import IsAdmin
from accounts.selectors import user_get, user_list
from accounts.services import auth_session_create, auth_session_revoke, user_create, user_update
from project.errors import ERROR_RESPONSES, ErrorSerializer
from project.filters import filter_parameters, list_filters
from project.pagination import PagePagination, paginated_response
from project.serializers import StrictSerializer


class UsernameField(serializers.CharField):
    """A username as the schema states it: a non-empty JSON string (DRF's CharField would take
    the number 0 as "0", which the schema does not allow)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(max_length=150, min_length=1, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class JsonBooleanField(serializers.BooleanField):
    """true or false, as the schema says (DRF's BooleanField also takes 0, 1 and "yes")."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class UserOutputSerializer(serializers.Serializer):
    """A user as every endpoint shows it (never the password hash)."""

    id = serializers.UUIDField()
    username = serializers.CharField()
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)
    is_active = serializers.BooleanField()
    is_staff = serializers.BooleanField(help_text="Derived from the role: ADMIN or SUPER_ADMIN.")
    is_superuser = serializers.BooleanField(help_text="Derived from the role: SUPER_ADMIN.")
    created_at = serializers.DateTimeField()
    last_login = serializers.DateTimeField(allow_null=True)


class AuthLoginApi(APIView):
    authentication_classes: list = []  # a stale token must not stand in the way of a new one
    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="LoginInput")
    class InputSerializer(StrictSerializer):
        username = UsernameField()
        password = serializers.CharField(max_length=128, trim_whitespace=False)

    @extend_schema_serializer(component_name="LoginOutput")
    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField(help_text="Shown once; send as `Authorization: Bearer`.")
        expires_at = serializers.DateTimeField()

    @extend_schema(
        summary="Log in: exchange a username and password for a bearer token",
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            429: ErrorSerializer,
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # Django's request, where the throttle's middleware looks for a refused attempt.
        issued = auth_session_create(request=request._request, **serializer.validated_data)
        data = {"token": issued.token, "expires_at": issued.session.expires_at}
        # The token must not be kept by a browser's or a proxy's cache.
        return Response(self.OutputSerializer(data).data, headers={"Cache-Control": "no-store"})


class AuthLogoutApi(APIView):
    @extend_schema(
        summary="Log out: end the session of this bearer token",
        request=None,
        responses={204: None, 401: ErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, AuthSession):
            auth_session_revoke(session=request.auth)
        else:  # logged in with the admin's session cookie (browsable API)
            logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserMeApi(APIView):
    @extend_schema(
        summary="The authenticated user",
        responses={200: UserOutputSerializer, 401: ErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        return Response(UserOutputSerializer(request.user).data)


class UserListApi(APIView):
    permission_classes = [IsAdmin]
    pagination_class = PagePagination

    @extend_schema(
        summary="List users (admins)",
        parameters=filter_parameters(UserFilterSet),
        responses={200: UserOutputSerializer(many=True), 404: ErrorSerializer, **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            queryset=user_list(filters=list_filters(request, UserFilterSet, self)),
            serializer_class=UserOutputSerializer,
            request=request,
            view=self,
        )


class UserCreateApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema_serializer(component_name="UserCreateInput")
    class InputSerializer(StrictSerializer):
        username = UsernameField()
        email = serializers.EmailField(max_length=254)
        password = serializers.CharField(
            max_length=128,
            trim_whitespace=False,
            write_only=True,
            help_text="At least 8 characters, not all digits, not a common password, not like "
            "the username or email (Django's password validators).",
        )
        role = serializers.ChoiceField(
            choices=Role.choices,
            default=Role.USER,
            help_text="Only a SUPER_ADMIN can grant ADMIN or SUPER_ADMIN.",
        )

    @extend_schema(
        summary="Create a user (admins); the welcome email is sent in the background",
        request=InputSerializer,
        responses={201: UserOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_create(**serializer.validated_data, created_by=request.user)
        return Response(UserOutputSerializer(user).data, status=status.HTTP_201_CREATED)


USER_ID = OpenApiParameter("user_id", OpenApiTypes.UUID, OpenApiParameter.PATH)


def _get_user(user_id: str) -> User:
    user = user_get(user_id=user_id)
    if user is None:
        raise NotFound("No user with this id.")
    return user


class UserDetailApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        summary="One user (admins)",
        parameters=[USER_ID],
        responses={200: UserOutputSerializer, 404: ErrorSerializer, **ERROR_RESPONSES},
    )
    def get(self, request: Request, user_id: str) -> Response:
        return Response(UserOutputSerializer(_get_user(user_id)).data)


class UserUpdateApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema_serializer(component_name="UserUpdateInput")
    class InputSerializer(StrictSerializer):
        username = UsernameField(required=False)
        email = serializers.EmailField(max_length=254, required=False)
        role = serializers.ChoiceField(
            choices=Role.choices,
            required=False,
            help_text="Only a SUPER_ADMIN can grant or revoke ADMIN and SUPER_ADMIN.",
        )
        is_active = JsonBooleanField(
            required=False, help_text="false ends every session of the user."
        )

    @extend_schema(
        summary="Change a user (admins); deactivating ends the user's sessions",
        parameters=[USER_ID],
        request=InputSerializer,
        responses={200: UserOutputSerializer, 404: ErrorSerializer, **ERROR_RESPONSES},
    )
    def patch(self, request: Request, user_id: str) -> Response:
        user = _get_user(user_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_update(user=user, actor=request.user, data=serializer.validated_data)
        return Response(UserOutputSerializer(user).data)
