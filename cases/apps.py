from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Cases")

    def ready(self):
        # Register the Celery tasks by name, so that outbox jobs ("cases.settle_application", …)
        # can be dispatched from any process, not only from a worker that autodiscovered them.
        from . import tasks  # noqa: F401

        self._register_menu()

        # A published policy version or a changed statistic marks person-years for recalculation.
        from policies.signals import statistic_changed, version_published

        from . import receivers

        version_published.connect(receivers.on_version_published, dispatch_uid="cases-recalc-on-version-published")
        statistic_changed.connect(receivers.on_statistic_changed, dispatch_uid="cases-recalc-on-statistic-changed")

    @staticmethod
    def _register_menu():
        from portal.roles.menu import MenuItem, register

        work, lookup, pay = _("Casework"), _("Look up"), _("Payments")
        register(
            MenuItem(permission="cases.view_drafts", label=_("My drafts"), url_name="cases:queue", query="queue=my_drafts",
                     group=work, order=10, description=_("Cases you registered that are drafts or returned for correction"),
                     count=waiting("my_drafts")),
            MenuItem(permission="cases.review_case", label=_("To review"), url_name="cases:queue", query="queue=to_review",
                     group=work, order=11, description=_("Submitted cases, in review, and waiting for a department"),
                     count=waiting("to_review")),
            MenuItem(permission="cases.confirm_identity", label=_("Identities to confirm"), url_name="cases:identity_entries",
                     group=work, order=11, description=_("Identities entered on evidence, waiting for a second reviewer"),
                     count=identities_waiting),
            MenuItem(permission="cases.approve_case", label=_("To approve"), url_name="cases:queue", query="queue=to_approve",
                     group=work, order=12, description=_("Reviewed cases waiting for approval or rejection"),
                     count=waiting("to_approve")),
            MenuItem(permission="cases.view_assigned", label=_("Assigned to me"), url_name="cases:queue",
                     query="queue=assigned", group=work, order=12,
                     description=_("Cases a supervisor assigned or transferred to you (分办转办)"),
                     count=waiting("assigned")),
            MenuItem(permission="cases.pay", label=_("To pay"), url_name="cases:payments", group=pay, order=13,
                     description=_("Approved cases and adjustments to put into a payment batch"),
                     count=waiting("to_pay")),
            MenuItem(permission="cases.review_payment_change", label=_("Payment changes to review"),
                     url_name="cases:payment_reviews", group=pay, order=13,
                     description=_("Supplementary payments (补发) and payee changes waiting for a reviewer or an approver")),
            MenuItem(permission="cases.view_recoveries", label=_("Recoveries"),
                     url_name="cases:recoveries", group=pay, order=14,
                     description=_("What persons owe back (追回): deducted from their next payments, repaid or waived")),
            MenuItem(permission="cases.view_batches", label=_("Payment batches"), url_name="cases:batches", group=pay, order=14,
                     description=_("Bank files and the bank's result per payment")),
            MenuItem(permission="cases.read_cases", label=_("Case search"), url_name="cases:queue", group=lookup, order=15,
                     description=_("Every case of your regions by state, region, year, identity number or name")),
            MenuItem(permission="cases.view_persons", label=_("Persons"), url_name="cases:persons", group=lookup, order=16,
                     description=_("Find or register a person; identities, claims and cases")),
            MenuItem(permission="cases.set_time_limits", label=_("Stage time limits"),
                     url_name="cases:time_limits", group=lookup, order=18,
                     description=_("Days a case may wait at each stage before the queues flag it (分办转办)")),
            MenuItem(permission="cases.do_casework", label=_("Claim import"), url_name="cases:claim_import", group=work, order=17,
                     description=_("Settlement records from the national platform (CSV or Excel)")),
        )


#: The home page's badge counts at most this many (a bounded count: the queues may hold a million).
COUNT_LIMIT = 99


def waiting(queue: str):
    """How many cases wait in ``queue`` for the user, for the home page's badge: counted up to
    :data:`COUNT_LIMIT` (``COUNT(*)`` over ``LIMIT 100``, never over the whole table), more is "99+"."""

    def count(user):
        from . import selectors

        n = selectors.queue(user, queue=queue)[: COUNT_LIMIT + 1].count()
        return f"{COUNT_LIMIT}+" if n > COUNT_LIMIT else n

    return count


def identities_waiting(user):
    """Identity entries waiting for this reviewer, for the home page's badge (bounded like :func:`waiting`)."""
    from . import selectors

    n = selectors.identity_entries_to_decide(user)[: COUNT_LIMIT + 1].count()
    return f"{COUNT_LIMIT}+" if n > COUNT_LIMIT else n
