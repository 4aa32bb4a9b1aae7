"""What every page does with a service's refusal (``portal.errors``), in one place::

    with refusals(form) as outcome:
        case = applications.create_application(acting_user=user, ...)
    if outcome.ok:
        return redirect("cases:case", case.pk)
    return render(request, "…", {"form": form}, status=outcome.status)

* A ``ValidationError({field: [messages]})`` goes next to the form's fields (``fields`` renames a
  service's field to the form's), the rest above the form.
* A :class:`~portal.errors.PortalError` goes next to its ``field`` or above the form (each of its
  messages, when it has several); ``outcome.messages`` lists them for a page that shows them itself.
* Without a form, both become messages on the next page (``request``).
* Not found and not permitted (``NotFound``, ``NotPermitted``) become the portal's 404 and 403 pages,
  so nothing outside the user's regions leaks — except the codes a page names in ``shown`` (e.g.
  ``four_eyes``: the user may act on the thing, just not twice), which are shown like the rest.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from .errors import NotFound, NotPermitted, PortalError


@dataclass
class Outcome:
    ok: bool = True
    status: int = 200
    messages: list[str] = field(default_factory=list)
    error: Exception | None = None


def errors_to_form(form, exc: ValidationError, *, fields: dict[str, str] | None = None) -> None:
    """A service's ``ValidationError({field: [messages]})`` next to the form's fields; the rest above."""
    fields = fields or {}
    if not hasattr(exc, "error_dict"):
        for message in exc.messages:
            form.add_error(None, message)
        return
    for name, messages_ in exc.message_dict.items():
        target = fields.get(name, name)
        for message in messages_:
            form.add_error(target if target in form.fields else None, message)


def refuse(exc: PortalError) -> None:
    """Not found / not permitted become the portal's 404 / 403 pages."""
    if isinstance(exc, NotFound):
        raise Http404(exc.message)
    if isinstance(exc, NotPermitted):
        raise PermissionDenied(exc.message)


@contextmanager
def refusals(form=None, *, request=None, fields: dict[str, str] | None = None, shown: tuple[str, ...] = ()):
    outcome = Outcome()
    try:
        yield outcome
    except ValidationError as exc:
        outcome.ok, outcome.status, outcome.error = False, 400, exc
        outcome.messages = [str(m) for m in exc.messages]
        if form is not None:
            errors_to_form(form, exc, fields=fields)
        elif request is not None:
            for message in outcome.messages:
                messages.error(request, message)
    except PortalError as exc:
        if exc.code not in shown:
            refuse(exc)
        outcome.ok, outcome.status, outcome.error = False, exc.http_status, exc
        outcome.messages = exc.errors
        if form is not None:
            target = (fields or {}).get(exc.field, exc.field) if exc.field else None
            for message in outcome.messages:
                form.add_error(target if target in form.fields else None, message)
        elif request is not None:
            for message in outcome.messages:
                messages.error(request, message)
