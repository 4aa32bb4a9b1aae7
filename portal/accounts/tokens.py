"""API tokens (``Authorization: Token …``) that expire, and are revoked at logout and when the
password changes."""
from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token


def token_lifetime() -> datetime.timedelta:
    return datetime.timedelta(hours=settings.PORTAL_API_TOKEN_HOURS)


def is_expired(token: Token, now=None) -> bool:
    return token.created <= (now or timezone.now()) - token_lifetime()


def issue_token(user) -> Token:
    """The user's token, a new one if there was none or it has expired."""
    token = Token.objects.filter(user=user).first()
    if token is not None and not is_expired(token):
        return token
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)


def revoke_tokens(user) -> int:
    return Token.objects.filter(user=user).delete()[0]


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, refusing (and deleting) a token older than PORTAL_API_TOKEN_HOURS."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if is_expired(token):
            token.delete()
            raise exceptions.AuthenticationFailed(_("The token has expired; ask for a new one."))
        return user, token


@receiver(user_logged_out)
def revoke_at_logout(sender, request, user, **kwargs):
    if user is not None:
        revoke_tokens(user)


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def revoke_on_password_change(sender, instance, created, **kwargs):
    # AbstractBaseUser keeps the raw password in _password from set_password() until save() is done
    if not created and getattr(instance, "_password", None) is not None:
        revoke_tokens(instance)
