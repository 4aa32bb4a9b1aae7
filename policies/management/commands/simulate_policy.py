"""manage.py simulate_policy VERSION_ID --year YYYY — the fund-impact simulation of a draft, run in
this process (the same parts the Celery tasks run, one after the other), its report JSON on
standard output. The run is recorded like one started from the page (``PolicySimulation``, by no
user). Nothing is written to cases. A refusal (not a draft, a bad year, a draft that cannot be
compiled): the reason on standard error, exit status 2."""
import json
import sys

from django.core.management.base import BaseCommand
from django.utils import translation

from policies.models import PolicyVersion
from portal.errors import PortalError


class Command(BaseCommand):
    help = "Simulate a draft policy version over its region's claims of a year; print the report JSON."

    def add_arguments(self, parser):
        parser.add_argument("version_id", type=int, help="id of the draft policy version")
        parser.add_argument("--year", required=True, help="year of the claims (e.g. 2024)")
        parser.add_argument("--chunk-size", type=int, default=None,
                            help="person-years per part (default: settings.POLICY_SIMULATION_CHUNK)")

    def fail(self, message: str):
        self.stderr.write(message)
        sys.exit(2)

    def handle(self, *args, **options):
        from policies.simulation import run_all, start_simulation, worded_report

        translation.activate("zh-hans")
        version = PolicyVersion.objects.filter(pk=options["version_id"]).first()
        if version is None:
            self.fail(f"没有 id 为 {options['version_id']} 的政策版本。")
        size = options["chunk_size"]
        if size is not None and size < 1:
            self.fail("--chunk-size：须为正整数。")
        try:
            sim = start_simulation(acting_user=None, version=version, year=options["year"], chunk_size=size,
                                   in_process=True)
        except PortalError as exc:
            self.fail(f"{exc.field + '：' if exc.field else ''}{exc.message}")
        sim = run_all(sim)
        if sim.report is None:
            self.fail(sim.error or "测算未完成。")
        self.stdout.write(json.dumps(worded_report(sim.report), ensure_ascii=False, indent=2))
