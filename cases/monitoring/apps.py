from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "cases.monitoring"
    label = "monitoring"
    verbose_name = _("Monitoring of high medical spending")

    def ready(self):
        from portal.roles.menu import MenuItem, register

        from . import tasks  # noqa: F401 - registers the tasks wherever Django runs

        register(
            MenuItem(permission="exchange.handle_warning", label=_("Warnings to handle"),
                     url_name="monitoring:warning_list", query="state=open", group=_("Department exchange"),
                     order=42, description=_("因病返贫 / 因病致贫 warnings: record what was done")),
            MenuItem(permission="exchange.supervise_warnings", label=_("Monitoring warnings"),
                     url_name="monitoring:warning_list", group=_("Supervision"), order=61,
                     description=_("High medical spending: 因病返贫 and 因病致贫 warnings and their outcomes")),
        )
