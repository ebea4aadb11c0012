"""Accounts endpoints, mounted under /api/."""

from django.urls import path

from accounts.apis import LoginApi, LogoutApi, UserDetailApi, UserMeApi, UsersApi

urlpatterns = [
    path("auth/login/", LoginApi.as_view(), name="auth-login"),
    path("auth/logout/", LogoutApi.as_view(), name="auth-logout"),
    path("users/", UsersApi.as_view(), name="users"),
    path("users/me/", UserMeApi.as_view(), name="users-me"),
    # str, not uuid: a malformed id gets the API's JSON 404 instead of Django's HTML page.
    path("users/<str:user_id>/", UserDetailApi.as_view(), name="user-detail"),
]
