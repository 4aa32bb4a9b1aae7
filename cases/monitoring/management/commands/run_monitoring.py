"""``manage.py run_monitoring [--year Y] [--region R]``: raise this year's (or Y's) 因病返贫 /
因病致贫 warnings now, for every region or for R and below (what the monthly beat job runs)."""
from django.core.management.base import BaseCommand, CommandError

from cases.exchange.errors import ExchangeError
from cases.monitoring.services import default_year, execute_run, start_run


class Command(BaseCommand):
    help = "Run high-medical-spending monitoring (因病返贫 / 因病致贫 warnings) now."

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, default=None, help="calendar year (default: that of yesterday)")
        parser.add_argument("--region", default="", help="region code (default: every region)")

    def handle(self, *args, year=None, region="", **options):
        try:
            run = start_run(acting_user=None, trigger="command", year=year or default_year(), region_code=region,
                            enqueue=False)
        except ExchangeError as exc:
            raise CommandError(str(exc)) from None
        run = execute_run(run_id=run.pk)
        self.stdout.write(f"run {run.pk}: year {run.year}, {run.person_years} person-years checked "
                          f"({run.computed_person_years} settled now), {run.warnings_created} new warnings")
        for problem in run.problem_texts():
            self.stdout.write(f"  {problem}")
