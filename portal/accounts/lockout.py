"""Sign-in lock-outs on every way in (web login, /admin/login/, the API token), with django-axes.

What is counted and refused:

* **The normalised username** (trimmed, NFKC, case-folded: ``"gz_tax "``, ``"GZ_TAX"`` and
  ``"ｇｚ_ｔａｘ"`` are one username): after ``AXES_FAILURE_LIMIT`` failures it is locked, even for
  the right password.
* **The client address** after ``PORTAL_LOGIN_FAILURES_PER_ADDRESS`` failures — except for users
  who have signed in from that address before (their office), so that made-up usernames typed at
  one address do not lock that office's real users. The address is the connecting one, or the
  client named in ``X-Forwarded-For`` when the connection comes from one of
  ``PORTAL_TRUSTED_PROXIES`` (the load balancer): behind it, everyone would otherwise share one
  address.
* **Atomically**: an attempt is counted as a failure *before* its password is checked, under a
  lock of the username's (and the address's) counter; a right password then takes the count back.
  So 20 guesses sent at once against a limit of 5 have at most 5 passwords checked.
* **A cool-off that grows**: the first lock-out lasts ``PORTAL_LOGIN_COOLOFF_MINUTES``, each further
  one of the same username or address within a day twice as long, up to
  ``PORTAL_LOGIN_COOLOFF_MAX_MINUTES``. A stranger who mistyped a colleague's username five times
  locks it for minutes, not hours.
* **An administrator unlocks** by deleting the username's rows under 访问尝试 (Access attempts) in
  the admin, or with ``manage.py axes_reset_username NAME``.

Counters live in the database (axes' ``AccessAttempt``), so every web process shares them.
"""
from __future__ import annotations

import datetime
import ipaddress
import unicodedata
import zlib

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_lockout_message
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from axes.signals import user_locked_out
from django.conf import settings
from django.db import connection, router, transaction
from django.db.models import F, Sum
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

DAY = datetime.timedelta(days=1)


# ------------------------------------------------------------------------------------------------
# Who is trying: username and address
# ------------------------------------------------------------------------------------------------


def normalise_username(value) -> str:
    """The key a username is counted under: trimmed, NFKC (full-width letters), case-folded."""
    if value is None:
        return ""
    return unicodedata.normalize("NFKC", str(value)).strip().casefold()[:255]


def lockout_username(request, credentials=None) -> str:
    """AXES_USERNAME_CALLABLE: the normalised username of a login attempt."""
    if credentials:
        raw = credentials.get("username")
    else:
        data = getattr(request, "data", None)
        if data is None or not hasattr(data, "get"):
            data = request.POST
        raw = data.get("username")
    return normalise_username(raw)


def _networks():
    cached = getattr(_networks, "_cache", None)
    key = tuple(settings.PORTAL_TRUSTED_PROXIES)
    if cached is None or cached[0] != key:
        nets = []
        for item in key:
            try:
                nets.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                continue
        cached = (key, nets)
        _networks._cache = cached
    return cached[1]


def _address(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(request) -> str | None:
    """The client's address: the connecting address, unless that is a trusted proxy — then the
    right-most address in X-Forwarded-For that is not itself a trusted proxy (the left part of that
    header is written by the client and cannot be believed)."""
    meta = getattr(request, "META", {})
    remote = _address(meta.get("REMOTE_ADDR", "") or "")
    if remote is None:
        return None
    trusted = _networks()

    def is_trusted(addr) -> bool:
        return any(addr in net for net in trusted)

    if not trusted or not is_trusted(remote):
        return str(remote)
    for hop in reversed((meta.get("HTTP_X_FORWARDED_FOR") or "").split(",")):
        addr = _address(hop)
        if addr is None:
            break  # garbage in the chain: trust nothing further left
        if not is_trusted(addr):
            return str(addr)
    return str(remote)


# ------------------------------------------------------------------------------------------------
# The cool-off that grows
# ------------------------------------------------------------------------------------------------


def _grown(earlier_lockouts: int) -> datetime.timedelta:
    base = datetime.timedelta(minutes=settings.PORTAL_LOGIN_COOLOFF_MINUTES)
    longest = datetime.timedelta(minutes=settings.PORTAL_LOGIN_COOLOFF_MAX_MINUTES)
    return min(base * (2 ** min(20, max(0, earlier_lockouts - 1))), longest)


ADDRESS_MARK = "#address"  # path_info of the failure-log entry that records an address's lock-out


def user_cool_off(username: str, now=None) -> datetime.timedelta:
    """How long failures of this username count (and its lock-out lasts): doubled per lock-out today."""
    now = now or timezone.now()
    locks = AccessFailureLog.objects.filter(locked_out=True, attempt_time__gte=now - DAY, username=username)
    return _grown(locks.exclude(path_info=ADDRESS_MARK).count())


def address_cool_off(ip_address: str | None, now=None) -> datetime.timedelta:
    if not ip_address:
        return _grown(0)
    now = now or timezone.now()
    locks = AccessFailureLog.objects.filter(locked_out=True, attempt_time__gte=now - DAY, ip_address=ip_address,
                                            path_info=ADDRESS_MARK)
    return _grown(locks.count())


def cool_off(request=None) -> datetime.timedelta:
    """AXES_COOLOFF_TIME: the window in which the username's failures count, for this attempt."""
    username = getattr(request, "portal_username", None) if request is not None else None
    if not username:
        return datetime.timedelta(minutes=settings.PORTAL_LOGIN_COOLOFF_MAX_MINUTES)
    return user_cool_off(username, getattr(request, "axes_attempt_time", None))


# ------------------------------------------------------------------------------------------------
# The handler
# ------------------------------------------------------------------------------------------------


def _lock_key(name: str) -> int:
    return zlib.crc32(name.encode("utf-8")) - (1 << 31)


class PortalAxesHandler(AxesDatabaseHandler):
    """axes' database handler, counting each attempt before its password is checked (see above)."""

    def _state(self, request, credentials):
        username = lockout_username(request, credentials)
        request.portal_username = username
        return username, request.axes_ip_address

    def _failures(self, *, username: str, ip_address: str | None, now):
        """(failures of the username, failures at the address, their two windows)."""
        user_window = user_cool_off(username, now)
        by_user = AccessAttempt.objects.filter(username=username, attempt_time__gte=now - user_window).aggregate(
            n=Sum("failures_since_start"))["n"] or 0
        by_address = 0
        address_window = address_cool_off(ip_address, now)
        if ip_address:
            by_address = AccessAttempt.objects.filter(ip_address=ip_address, attempt_time__gte=now - address_window).aggregate(
                n=Sum("failures_since_start"))["n"] or 0
        return by_user, by_address, user_window, address_window

    def _known_here(self, username: str, ip_address: str | None) -> bool:
        """Has this user signed in from this address in the last 90 days (their own office)?"""
        if not ip_address or not username:
            return False
        return AccessLog.objects.filter(username=username, ip_address=ip_address,
                                        attempt_time__gte=timezone.now() - 90 * DAY).exists()

    def _locked(self, username, ip_address, now) -> tuple[bool, int, int]:
        by_user, by_address, user_window, _ = self._failures(username=username, ip_address=ip_address, now=now)
        locked = by_user >= settings.AXES_FAILURE_LIMIT or (
            by_address >= settings.PORTAL_LOGIN_FAILURES_PER_ADDRESS and not self._known_here(username, ip_address))
        return locked, by_user, by_address

    def _serialise(self, username: str, ip_address: str | None) -> None:
        """Hold the username's and the address's counters until the transaction ends."""
        if connection.vendor != "postgresql":
            return  # SQLite: the write transaction (BEGIN IMMEDIATE) already serialises everyone
        keys = sorted({_lock_key("u:" + username), _lock_key("a:" + (ip_address or ""))})
        with connection.cursor() as cursor:
            for key in keys:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])

    def is_locked(self, request, credentials=None) -> bool:
        """Refuse a locked username/address; otherwise count this attempt as a failure now."""
        username, ip_address = self._state(request, credentials)
        now = request.axes_attempt_time
        with transaction.atomic(using=router.db_for_write(AccessAttempt)):
            self._serialise(username, ip_address)
            locked, by_user, by_address = self._locked(username, ip_address, now)
            if locked:
                request.portal_refused = True
                return True
            attempt, created = AccessAttempt.objects.get_or_create(
                username=username, ip_address=ip_address, user_agent=request.axes_user_agent[:255],
                defaults={"get_data": "", "post_data": "", "http_accept": request.axes_http_accept[:1025],
                          "path_info": request.axes_path_info[:255], "failures_since_start": 1,
                          "attempt_time": now},
            )
            if not created:
                # failures older than the username's window no longer count: start again from one
                stale = attempt.attempt_time < now - user_cool_off(username, now)
                AccessAttempt.objects.filter(pk=attempt.pk).update(
                    failures_since_start=1 if stale else F("failures_since_start") + 1, attempt_time=now,
                    path_info=request.axes_path_info[:255])
            request.portal_counted = attempt.pk
            request.portal_after = (by_user + 1, by_address + 1)
        return False

    def clean_expired_user_attempts(self, request=None, credentials=None) -> int:
        """Forget counters older than the longest cool-off (no window reaches past it)."""
        longest = datetime.timedelta(minutes=settings.PORTAL_LOGIN_COOLOFF_MAX_MINUTES)
        count, _ = AccessAttempt.objects.filter(attempt_time__lt=timezone.now() - longest).delete()
        return count

    def get_failures(self, request, credentials=None) -> int:
        username, ip_address = self._state(request, credentials)
        by_user, by_address, _, _ = self._failures(username=username, ip_address=ip_address, now=request.axes_attempt_time)
        return max(by_user, by_address)

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        if request is None:
            return
        username, ip_address = self._state(request, credentials)
        _flag(request, "axes_credentials", credentials)
        if getattr(request, "portal_refused", False):
            # refused unchecked while locked: not counted again (the lock-out does not grow by itself)
            _flag(request, "axes_locked_out", True)
            return
        if not getattr(request, "portal_counted", None):
            return  # the form was incomplete: no password was checked
        now = request.axes_attempt_time
        by_user, by_address = request.portal_after
        user_locks = by_user == settings.AXES_FAILURE_LIMIT
        address_locks = by_address == settings.PORTAL_LOGIN_FAILURES_PER_ADDRESS
        entry = dict(ip_address=ip_address, user_agent=request.axes_user_agent[:255],
                     http_accept=request.axes_http_accept[:1025], attempt_time=now)
        AccessFailureLog.objects.create(username=username, locked_out=user_locks,
                                        path_info=request.axes_path_info[:255], **entry)
        if address_locks:
            AccessFailureLog.objects.create(username=username, locked_out=True, path_info=ADDRESS_MARK, **entry)
        if user_locks or address_locks:
            user_locked_out.send("axes", request=request, username=username, ip_address=ip_address)

    def user_logged_in(self, sender, request, user, **kwargs):
        """A right password: the username's failures (its own typos, at any address) are forgotten."""
        if request is None or not hasattr(request, "axes_attempt_time"):
            return
        username = normalise_username(user.get_username())
        ip_address = getattr(request, "axes_ip_address", None)
        AccessAttempt.objects.filter(username=username).delete()
        request.portal_counted = None
        AccessLog.objects.create(
            username=username, ip_address=ip_address, user_agent=request.axes_user_agent[:255],
            http_accept=request.axes_http_accept[:1025], path_info=request.axes_path_info[:255],
            attempt_time=request.axes_attempt_time,
        )

    def user_logged_out(self, sender, request, user, **kwargs):
        return None


def _flag(request, name, value) -> None:
    """Set on the request and, for a DRF request, on the Django request the middleware sees."""
    setattr(request, name, value)
    inner = getattr(request, "_request", None)
    if inner is not None:
        setattr(inner, name, value)


def seconds_locked(*, username: str, ip_address: str | None) -> int:
    """How long until this username/address may try again (0: not locked)."""
    now = timezone.now()
    username = normalise_username(username)
    handler = PortalAxesHandler()
    by_user, by_address, user_window, address_window = handler._failures(username=username, ip_address=ip_address, now=now)
    waits = []
    if by_user >= settings.AXES_FAILURE_LIMIT:
        last = AccessAttempt.objects.filter(username=username).order_by("-attempt_time").values_list("attempt_time", flat=True).first()
        if last:
            waits.append(last + user_window - now)
    if by_address >= settings.PORTAL_LOGIN_FAILURES_PER_ADDRESS and not handler._known_here(username, ip_address):
        last = AccessAttempt.objects.filter(ip_address=ip_address).order_by("-attempt_time").values_list("attempt_time", flat=True).first()
        if last:
            waits.append(last + address_window - now)
    if not waits:
        return 0
    return max(1, int(max(waits).total_seconds()) + 1)


def lockout_response(request, response=None, credentials=None, *args, **kwargs):
    """AXES_LOCKOUT_CALLABLE: 429 with how long to wait — the login page again, or JSON for the API."""
    username = lockout_username(request, credentials) if credentials is not None else lockout_username(request)
    wait = seconds_locked(username=username, ip_address=getattr(request, "axes_ip_address", None))
    minutes = max(1, (wait + 59) // 60)
    message = _("Too many failed attempts. Try again in %(minutes)d minutes.") % {"minutes": minutes}
    if request.path.startswith("/api/"):
        answer = JsonResponse({"detail": message, "code": "throttled"}, status=429)
    else:
        from django.contrib.auth.forms import AuthenticationForm

        # the portal's login page for the web and the admin alike
        answer = render(request, "registration/login.html",
                        {"form": AuthenticationForm(request), "lockout_message": message}, status=429)
    if wait:
        answer["Retry-After"] = str(wait)
    return answer


__all__ = ["PortalAxesHandler", "client_address", "cool_off", "lockout_response", "lockout_username",
           "normalise_username", "seconds_locked", "get_lockout_message", "get_client_username"]
