from django.core.management.base import BaseCommand

from portal.jobs import flush


class Command(BaseCommand):
    help = "Send background jobs that could not be handed to the broker (e.g. while Redis was down)."

    def handle(self, *args, **options):
        sent, pending = flush(limit=100000)
        self.stdout.write(f"sent {sent}, still pending {pending}")
