from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Cases")

    def ready(self):
        # Register the Celery tasks by name, so that outbox jobs ("cases.settle_application", …)
        # can be dispatched from any process, not only from a worker that autodiscovered them.
        from . import tasks  # noqa: F401
