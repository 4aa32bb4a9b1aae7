"""What the exchange does when other parts tell it something (connected in ``apps.py``). A policy or
statistic change marks person-years for recalculation: ``cases/receivers.py``."""
from __future__ import annotations


def on_transition(sender, *, application_id, action, actor_id=None, comment="", category="", **kwargs):
    """A case was sent to a department through the cases part's own action: open its request."""
    if action != "ask_department":
        return
    from .services.confirmations import open_from_transition

    open_from_transition(application_id=application_id, category=category, actor_id=actor_id, comment=comment)
