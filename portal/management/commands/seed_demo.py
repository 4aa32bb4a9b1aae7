from importlib import import_module

from django.core.management.base import BaseCommand

from portal.demo import DEMO_PASSWORD, seed_accounts, seed_more


class Command(BaseCommand):
    help = "Create demo users of every role (赣州市, 沧州市, 巴南区, 东至县, 广东省), persons, cases, statistics, pushes and warnings. Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--address", default="http://127.0.0.1:8000/",
                            help="the address the portal is served at, printed with the logins")

    def handle(self, *args, **options):
        accounts = seed_accounts()
        for app in ("policies", "cases"):
            try:
                module = import_module(f"{app}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app}.demo":
                    raise
                continue
            module.seed(stdout=self.stdout)
        seed_more(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Log in at {options['address']} with:"))
        self.stdout.write(f"  password for every demo account: {DEMO_PASSWORD}")
        for username, full_name, role, region in accounts:
            self.stdout.write(f"  {username:<14} {full_name:<14} {role:<16} {region}")
