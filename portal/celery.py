"""The portal's Celery application.

With no ``CELERY_BROKER_URL`` set, tasks run eagerly in-process (the embedded default);
with ``CELERY_BROKER_URL=redis://…`` they go to ``celery -A portal worker`` and the
periodic ones are scheduled by ``celery -A portal beat``.
"""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
