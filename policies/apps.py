from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoliciesConfig(AppConfig):
    name = "policies"
    verbose_name = _("Policies")

    def ready(self):
        from portal.roles.menu import MenuItem, register

        from . import bookcache, tasks  # noqa: F401 - registers the Celery tasks wherever Django runs

        bookcache.connect()

        group = _("Policies")
        register(
            MenuItem(permission="policies.view_policies", label=_("Policy versions"), url_name="policies:versions", group=group, order=40,
                     description=_("Regional policy documents as versioned parameters; drafts and publishing")),
            MenuItem(permission="policies.view_policies", label=_("Statistics"), url_name="policies:statistics", group=group, order=41,
                     description=_("Income figures the policies read, per region and year")),
            MenuItem(permission="policies.view_policies", label=_("What-if calculation"), url_name="policies:whatif", group=group, order=42,
                     description=_("Settle a person's claims under a published version or a draft")),
        )
