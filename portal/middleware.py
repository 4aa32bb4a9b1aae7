"""Middleware of the whole portal: language, idle sessions; the error reporter's filter."""
import re
import time

from django.conf import settings
from django.contrib.auth import logout
from django.views.debug import SafeExceptionReporterFilter


class ChineseByDefaultMiddleware:
    """The portal speaks Chinese unless the user chose another language (language cookie, set by
    the switcher). The browser's Accept-Language is ignored: an English-language browser on a
    bureau PC must not turn the portal English by itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)


class IdleSessionMiddleware:
    """Signs a user out after ``PORTAL_SESSION_IDLE_MINUTES`` without a request.

    The time of the last request is kept in the session, written at most once a minute (not on every
    request), so that the idle limit holds to the minute without a database write per page.
    """

    KEY = "_portal_seen"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = int(time.time())
            seen = request.session.get(self.KEY)
            idle = settings.PORTAL_SESSION_IDLE_MINUTES * 60
            if isinstance(seen, int) and now - seen > idle:
                logout(request)
            elif not isinstance(seen, int) or now - seen >= 60:
                request.session[self.KEY] = now
        return self.get_response(request)


class SecretsHiddenReporterFilter(SafeExceptionReporterFilter):
    """Django's reporter filter, also hiding connection strings (DATABASE_URL, CELERY_BROKER_URL, any
    *_URL) and the environment variables that carry them, on the debug page and in error reports."""

    hidden_settings = re.compile(r"API|TOKEN|KEY|SECRET|PASS|SIGNATURE|_URL$|DATABASE|BROKER|DSN", flags=re.I)

    def get_safe_request_meta(self, request):
        meta = super().get_safe_request_meta(request)
        return {k: (self.cleansed_substitute if self.hidden_settings.search(k) else v) for k, v in meta.items()}


class HostileRequestMiddleware:
    """Answers 400 or 404 — never a 500 — for what no page or API call can use:

    * a NUL character (``%00``) in the path, the query string or a submitted form field (databases
      refuse NUL in text);
    * a query value of digits only longer than any id (20 digits and more; identity numbers have 18);
    * an id in the URL beyond a 64-bit integer (404: no such object).
    """

    MAX_ID = 2**63 - 1

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.http import HttpResponseBadRequest

        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
            return HttpResponseBadRequest("NUL character in the address", content_type="text/plain; charset=utf-8")
        try:
            for values in request.GET.lists():
                for value in values[1]:
                    if "\x00" in value or (len(value) >= 20 and value.isdigit()):
                        return HttpResponseBadRequest("query value not accepted", content_type="text/plain; charset=utf-8")
            if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
                for _key, values in request.POST.lists():
                    if any("\x00" in v for v in values):
                        return HttpResponseBadRequest("NUL character in a form field",
                                                      content_type="text/plain; charset=utf-8")
        except Exception:  # noqa: BLE001 - an unreadable query or form is the client's error
            return HttpResponseBadRequest("unreadable request", content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        from django.http import Http404

        for value in list(view_args) + list(view_kwargs.values()):
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) > self.MAX_ID:
                raise Http404
            if isinstance(value, str) and value.isdigit() and len(value) >= 19 and int(value) > self.MAX_ID:
                raise Http404
        return None
