"""DRF authentication by `Authorization: Bearer <token>` over `AuthSession` rows."""

from __future__ import annotations

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from accounts.models import AuthSession, User
from accounts.selectors import auth_session_get_active
from accounts.services import auth_session_touch


class BearerTokenAuthentication(BaseAuthentication):
    """An expired, revoked or unknown token is a 401, never an anonymous request.

    Listed first in DEFAULT_AUTHENTICATION_CLASSES so that its `WWW-Authenticate` header makes
    DRF answer unauthenticated requests with 401 rather than 403.
    """

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[User, AuthSession] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Invalid Authorization header: expected 'Bearer <token>'.")
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("Invalid token.") from None
        session = auth_session_get_active(token=token)
        if session is None:
            raise AuthenticationFailed("Invalid or expired token.")
        auth_session_touch(session=session)
        return session.user, session

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
