"""manage.py import_policy FILE --user USERNAME [--region CODE] — a policy file as a new draft.

The whole file is validated first (docs/policy-file.md); every problem is printed on standard
error naming its path, nothing is stored and the exit status is 2. Otherwise a DRAFT is created
(never published) and its number printed. ``--user`` names the policy administrator recorded as
having imported it (they must administer the region).
"""
import sys

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand

from policies import services
from policies.messages import render


class Command(BaseCommand):
    help = "Import a policy file as a new draft version (validated first; never published)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="policy file (JSON), or - for standard input")
        parser.add_argument("--user", required=True, help="username of the policy administrator importing it")
        parser.add_argument("--region", default=None, help="region code (default: the file's own region)")

    def fail(self, errors):
        for error in errors:
            self.stderr.write(error)
        sys.exit(2)

    def handle(self, *args, **options):
        name = options["file"]
        try:
            if name == "-":
                content = sys.stdin.buffer.read(services.MAX_POLICY_FILE_BYTES + 1)
            else:
                with open(name, "rb") as fh:
                    content = fh.read(services.MAX_POLICY_FILE_BYTES + 1)
        except OSError as exc:
            self.fail([f"{name}: cannot read the file ({exc.strerror})"])
        user = get_user_model().objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            self.fail([f"--user: no active user {options['user']}"])
        try:
            draft = services.import_policy(acting_user=user, region=options["region"], content=content,
                                           filename=name if name != "-" else "stdin")
        except services.ChangeRefused as exc:
            errors = list(exc.errors)
            problems = getattr(exc, "problems", None) or []
            # a document's problems: the path first, then the reason in the command's language
            errors[:len(problems)] = [render(p, field_first=True) for p in problems]
            self.fail(errors)
        except PermissionDenied as exc:
            self.fail([str(exc)])
        self.stdout.write(f"draft #{draft.pk}: {draft.region_id} {draft.document_number} (not published)")
