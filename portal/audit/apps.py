from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "portal.audit"
    label = "audit"
    verbose_name = _("Audit log")

    def ready(self):
        from .context import connect_celery

        connect_celery()
        self._register_menu()

    @staticmethod
    def _register_menu():
        from portal.roles.menu import MenuItem, register

        register(
            MenuItem(permission="audit.view_log", label=_("Audit log"), url_name="audit:log", group=_("Look up"), order=40,
                     description=_("Every change with who, when, channel and old → new; full-number views; "
                                   "bank-account changes")),
        )
