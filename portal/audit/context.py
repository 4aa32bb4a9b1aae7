"""Who made a change and through which channel: the context attached to every history row.

Every change recorded by the history triggers (``portal.audit.tracking``) points at a context row
(``pghistory.Context``) whose metadata says ``{"user": <user id or null>, "channel": "web" | "api"
| "push" | "import" | "worker", …}``. The context is set

* for web and API requests by :class:`AuditContextMiddleware` (the API's token user is picked up
  when REST framework authenticates the request);
* for Celery tasks by the ``task_prerun`` / ``task_postrun`` hooks below (channel ``worker``; an
  identity push's processing is ``push`` with the liaison who uploaded it, a bank return file's
  is ``import`` with its uploader);
* explicitly with :func:`audit_context` by services that read files (claim imports).

Nested contexts: ``worker`` inside a request (eager Celery, ``scripts/start``) stays the request's
context; ``push`` / ``import`` inside another channel open a context of their own (same user unless
one is given), so a claim import through the API is recorded as an import.

On any database other than PostgreSQL nothing is done: there are no history triggers to read the
context, and pghistory's way of passing it (``SELECT set_config(…)`` before each statement) is
PostgreSQL's.
"""
from __future__ import annotations

import contextlib
import uuid

import pghistory
from django.db import connection
from pghistory import runtime


class Channel:
    WEB = "web"
    API = "api"
    PUSH = "push"
    IMPORT = "import"
    WORKER = "worker"


#: Channels that open a context of their own when entered inside another channel's context.
SPECIFIC = {Channel.PUSH, Channel.IMPORT}


def enabled() -> bool:
    return connection.vendor == "postgresql"


def _user_id(user) -> int | None:
    if user is None:
        return None
    if isinstance(user, int):
        return user
    if getattr(user, "is_authenticated", False):
        return user.pk
    return None


def current() -> dict | None:
    """The metadata of the context in force, or None."""
    value = getattr(runtime._tracker, "value", None)
    return value.metadata if value is not None else None


@contextlib.contextmanager
def audit_context(*, channel: str, user=None, **metadata):
    """Attribute the changes made inside the block to ``user`` (a user, an id or None: the system)
    and ``channel``; extra ``metadata`` (e.g. ``push=42``) is kept with them."""
    if not enabled():
        yield
        return
    outer = getattr(runtime._tracker, "value", None)
    uid = _user_id(user)
    if outer is None:
        with pghistory.context(channel=channel, user=uid, **metadata):
            yield
        return
    if channel not in SPECIFIC or outer.metadata.get("channel") == channel:
        # Part of what the outer context is doing (e.g. an eager task inside a request).
        if uid is not None and outer.metadata.get("user") is None:
            outer.metadata["user"] = uid
        yield
        return
    # A push or an import inside a request or a task: a context of its own, restored afterwards.
    inherited = uid if uid is not None else outer.metadata.get("user")
    runtime._tracker.value = runtime.Context(
        id=uuid.uuid4(), metadata={**metadata, "channel": channel, "user": inherited}
    )
    try:
        yield
    finally:
        runtime._tracker.value = outer


class AuditContextMiddleware:
    """Puts every request (any method: a GET may write too, e.g. a logged full-number view) in a
    context with the signed-in user, the channel (``api`` under ``/api/``, else ``web``) and the
    path. The user set later by REST framework's token authentication replaces the anonymous one
    (pghistory's request class forwards ``request.user = …`` to the context)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not enabled():
            return self.get_response(request)
        from django.core.handlers.wsgi import WSGIRequest as DjangoWSGIRequest
        from pghistory.middleware import WSGIRequest

        channel = Channel.API if request.path.startswith("/api/") else Channel.WEB
        user = getattr(request, "user", None)
        with audit_context(channel=channel, user=user, url=request.path[:200], method=request.method):
            if isinstance(request, DjangoWSGIRequest) and not isinstance(request, WSGIRequest):
                request.__class__ = WSGIRequest
            return self.get_response(request)


# --- Celery -----------------------------------------------------------------------------------------

def _push_user(push_id):
    from cases.exchange.models import IdentityPush

    return IdentityPush.objects.filter(pk=push_id).values_list("created_by_id", flat=True).first()


def _bank_return_user(bank_return_id):
    from cases.models import BankReturn

    return BankReturn.objects.filter(pk=bank_return_id).values_list("uploaded_by_id", flat=True).first()


#: Tasks that act on someone's upload: (channel, the id argument → the uploader).
TASK_CHANNELS = {
    "exchange.process_push": (Channel.PUSH, _push_user),
    "cases.apply_bank_return": (Channel.IMPORT, _bank_return_user),
}

_open_task_contexts: dict[str, contextlib.ExitStack] = {}


def task_started(task_id=None, task=None, args=None, kwargs=None, **_):
    if not enabled() or task_id is None or task is None:
        return
    channel, who = TASK_CHANNELS.get(task.name, (Channel.WORKER, None))
    user = None
    first = args[0] if args else next(iter((kwargs or {}).values()), None)
    if who is not None and first is not None:
        try:
            user = who(int(first))
        except (TypeError, ValueError):
            user = None
    stack = contextlib.ExitStack()
    stack.enter_context(audit_context(channel=channel, user=user, task=task.name))
    _open_task_contexts[task_id] = stack


def task_finished(task_id=None, **_):
    stack = _open_task_contexts.pop(task_id, None) if task_id is not None else None
    if stack is not None:
        stack.close()


def connect_celery() -> None:
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(task_started, weak=False, dispatch_uid="portal.audit.task_started")
    task_postrun.connect(task_finished, weak=False, dispatch_uid="portal.audit.task_finished")


def recorded_as(channel: str):
    """Decorator for a service taking ``acting_user``: its changes are recorded under ``channel``
    (e.g. ``@recorded_as(Channel.IMPORT)`` on the claim import)."""

    def decorate(func):
        import functools

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with audit_context(channel=channel, user=kwargs.get("acting_user")):
                return func(*args, **kwargs)

        return wrapper

    return decorate
