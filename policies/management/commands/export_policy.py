"""manage.py export_policy REGION [--version N] [--output FILE] — a policy version as a policy file.

Without ``--version`` the region's published version in force today is exported (else its newest
published version, else its newest version of any status). The file (docs/policy-file.md) goes to
standard output or to ``--output``. Unknown region or version: a message on standard error, exit 2.
"""
import sys

from django.core.management.base import BaseCommand

from policies import selectors, services


class Command(BaseCommand):
    help = "Write a region's policy version as a policy file (JSON, every value with its clause)."

    def add_base_argument(self, parser, *args, **kwargs):
        if "--version" in args:  # ours is the policy version's number, not Django's own version
            return
        super().add_base_argument(parser, *args, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("region", help="GB/T 2260 code of the region, e.g. 360700")
        parser.add_argument("--version", dest="version_id", type=int, default=None,
                            help="the policy version's number (#id on the policy pages)")
        parser.add_argument("--output", "-o", default=None, help="write to this file instead of standard output")

    def handle(self, *args, **options):
        version = selectors.version_to_export(region_code=options["region"], version_id=options["version_id"])
        if version is None:
            which = f"version {options['version_id']} of " if options["version_id"] else "a policy version of "
            self.stderr.write(f"region: there is no {which}{options['region']}")
            sys.exit(2)
        text = services.policy_file_text(version)
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8") as fh:
                fh.write(text)
            self.stderr.write(f"{options['output']}: {version.document_number} (#{version.pk}, {version.status})")
        else:
            self.stdout.write(text, ending="")
