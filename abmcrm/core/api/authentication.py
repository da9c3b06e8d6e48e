"""`Authorization: Token …` for the API: django-rest-knox's token authentication."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox import auth
from rest_framework import exceptions


class TokenAuthentication(auth.TokenAuthentication):
    """knox's TokenAuthentication (hashed tokens with an expiry; inactive users refused),
    with two changes:

    - a token that is not UTF-8 text, or holds a NUL byte, is refused as an invalid token
      (knox would fail with a 500, or hand the database a string it refuses);
    - a request checks only its own token's expiry: knox also looks through every other
      token of the user on every request (one more query each time); the user's expired
      tokens are deleted when they next get one (`tokens.token_issue`)."""

    def authenticate_credentials(self, token):
        try:
            text = token.decode("utf-8")
        except UnicodeDecodeError:
            text = "\x00"
        if "\x00" in text:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        return super().authenticate_credentials(token)

    def _cleanup_token(self, auth_token):
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False


class TokenScheme(KnoxTokenScheme):
    """The token's entry in the OpenAPI schema (drf-spectacular matches extensions by class,
    not subclass)."""

    target_class = "abmcrm.core.api.authentication.TokenAuthentication"
    name = "tokenAuth"
