from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    name = "cases.reporting"
    label = "reporting"
    verbose_name = _("Dashboards and budgets")

    def ready(self):
        from portal.roles.menu import MenuItem, register

        register(
            MenuItem(permission="exchange.view_dashboard", label=_("Dashboards"), url_name="reporting:dashboard",
                     group=_("Supervision"), order=60,
                     description=_("Payments against the budget, caps, warnings, referrals, cost outside the scope")),
        )
