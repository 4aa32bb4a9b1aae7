"""Names of states in the active language, cheaply.

``Application.get_state_display()`` hashes every lazy choice on each call; a list of 50 cases (a
queue page, an API page) spent a fifth of its time there. These labels are computed once per
language and state.
"""
from __future__ import annotations

from django.utils.translation import get_language

from .models import ApplicationState

_STATE_LABELS: dict[tuple[str | None, str], str] = {}


def state_label(state: str) -> str:
    """The name of an application state in the active language (the code itself if unknown)."""
    key = (get_language(), state)
    label = _STATE_LABELS.get(key)
    if label is None:
        label = _STATE_LABELS[key] = str(dict(ApplicationState.choices).get(state, state))
    return label
