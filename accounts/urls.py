"""Accounts endpoints, mounted under /api/. Where two operations share a URL, `by_method` routes
each HTTP method to its own view."""

from django.urls import path

from accounts.apis import (
    AuthLoginApi,
    AuthLogoutApi,
    UserCreateApi,
    UserDetailApi,
    UserListApi,
    UserMeApi,
    UserUpdateApi,
)
from project.routing import by_method

urlpatterns = [
    path("auth/login/", AuthLoginApi.as_view(), name="auth-login"),
    path("auth/logout/", AuthLogoutApi.as_view(), name="auth-logout"),
    path("users/", by_method(get=UserListApi, post=UserCreateApi), name="users"),
    path("users/me/", UserMeApi.as_view(), name="users-me"),
    # str, not uuid: a malformed id gets the API's JSON 404 instead of Django's HTML page.
    path(
        "users/<str:user_id>/",
        by_method(get=UserDetailApi, patch=UserUpdateApi),
        name="user-detail",
    ),
]
