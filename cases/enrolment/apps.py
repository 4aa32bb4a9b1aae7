from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnrolmentConfig(AppConfig):
    name = "cases.enrolment"
    label = "enrolment"
    verbose_name = _("Enrolment subsidy")

    def ready(self):
        from portal.roles.menu import MenuItem, register

        from . import tasks  # noqa: F401 - registers the tasks wherever Django runs

        register(
            MenuItem(permission="exchange.receive_subsidy_lists", label=_("Subsidy lists"),
                     url_name="enrolment:subsidy_lists", group=_("Department exchange"), order=43,
                     description=_("Monthly added and exited subsidised enrolments")),
            MenuItem(permission="exchange.manage_enrolment_subsidy", label=_("Enrolment subsidy"),
                     url_name="enrolment:subsidy_lists", group=_("Supervision"), order=62,
                     description=_("Contribution standards and the monthly lists for finance and tax")),
        )
