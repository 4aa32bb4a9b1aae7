"""Login throttling: after too many failures for one username (or from one address) within the
window, further attempts are refused for the rest of the window, even with the right password.

Failures are stored in the database (not the cache), so every web process behind a load balancer
sees them and the check keeps working when Redis is down.
"""
from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.utils import timezone

from .models import LoginFailure

WINDOW = datetime.timedelta(minutes=getattr(settings, "LOGIN_THROTTLE_WINDOW_MINUTES", 15))
MAX_PER_USERNAME = getattr(settings, "LOGIN_THROTTLE_PER_USERNAME", 5)
MAX_PER_ADDRESS = getattr(settings, "LOGIN_THROTTLE_PER_ADDRESS", 30)


def client_ip(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def seconds_until_allowed(*, username: str, ip_address: str | None) -> int:
    """0 when a new attempt may be made, else how long the caller must wait."""
    since = timezone.now() - WINDOW
    recent = LoginFailure.objects.filter(at__gte=since)
    by_user = list(recent.filter(username__iexact=username).order_by("-at").values_list("at", flat=True)[:MAX_PER_USERNAME])
    waits = []
    if len(by_user) >= MAX_PER_USERNAME:
        waits.append(by_user[-1] + WINDOW - timezone.now())
    if ip_address:
        by_ip = list(recent.filter(ip_address=ip_address).order_by("-at").values_list("at", flat=True)[:MAX_PER_ADDRESS])
        if len(by_ip) >= MAX_PER_ADDRESS:
            waits.append(by_ip[-1] + WINDOW - timezone.now())
    if not waits:
        return 0
    return max(1, int(max(waits).total_seconds()) + 1)


@receiver(user_login_failed)
def record_failure(sender, credentials, request=None, **kwargs):
    LoginFailure.objects.create(username=(credentials or {}).get("username", "")[:150], ip_address=client_ip(request))


@receiver(user_logged_in)
def clear_failures(sender, request, user, **kwargs):
    LoginFailure.objects.filter(username__iexact=user.get_username()).delete()
