"""Signals other parts listen to (sent on commit, after the change is durable).

``application_transitioned(sender=Application, application_id, action, from_state, to_state,
actor_id, comment, category)`` — after every workflow transition. The exchange listens for
``action == "ask_department"`` (``category`` = the identity to confirm) to open a confirmation
request with the owning department.
"""
from django.dispatch import Signal

application_transitioned = Signal()
