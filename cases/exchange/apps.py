from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    name = "cases.exchange"
    label = "exchange"
    verbose_name = _("Department exchange")

    def ready(self):
        from portal.roles.menu import MenuItem, register

        from . import receivers, tasks  # noqa: F401 - registers the tasks wherever Django runs

        group = _("Department exchange")
        register(
            MenuItem(permission="exchange.upload_push", label=_("Identity pushes"),
                     url_name="exchange:push_list", group=group, order=40,
                     description=_("Send the lists of added and exited identities")),
            MenuItem(permission="exchange.answer_confirmation", label=_("Identity confirmations to answer"),
                     url_name="exchange:confirmation_list", group=group, order=41,
                     description=_("Requests of the medical-security bureau waiting for your department"),
                     count=_open_confirmations),
            MenuItem(permission="exchange.follow_confirmations", label=_("Identity confirmations asked"), url_name="exchange:confirmation_list",
                     query="tab=sent", group=group, order=44,
                     description=_("What the departments answered about identities")),
        )

        from cases.signals import application_transitioned

        application_transitioned.connect(receivers.on_transition, dispatch_uid="exchange-on-transition")


def _open_confirmations(user) -> int:
    from .selectors import confirmations_inbox

    return confirmations_inbox(user).count()
