"""manage.py settle FILE — settle a settlement input (shared/spec/settlement.md) and print the result.

``-`` reads standard input. The result JSON goes to standard output and the exit status is 0. Bad
input or a policy that cannot settle it: one message per problem on standard error (each naming
the field or parameter), nothing on standard output, exit status 2. Nothing is written to the
database.

The messages are Chinese unless ``--lang en`` is given or, without ``--lang``, the environment's
``LANGUAGE`` asks for English (``LANGUAGE=en`` or ``en_US:en``): then they are the engine's English
sentences, each naming the field by path first. (``LANG`` is not read: it names the machine's
locale, often English, not the reader's choice.)
"""
import json
import os
import sys
from decimal import Decimal

from django.core.management.base import BaseCommand

from policies.services import SettlementRefused, settle_payload


class Command(BaseCommand):
    help = "Settle a settlement input JSON (FILE, or - for standard input) and print the result JSON."

    def add_arguments(self, parser):
        parser.add_argument("file", help="settlement input JSON file, or - for standard input")
        parser.add_argument(
            "--lang", default=None, choices=("zh-hans", "en"),
            help="language of the messages on standard error (default: English when the environment's LANGUAGE "
                 "says so, else zh-hans)",
        )
        parser.add_argument(
            "--policy-version", dest="draft_version", type=int, default=None,
            help="settle with this policy version (e.g. an unpublished draft) as if it were published",
        )

    def fail(self, errors: list[str]):
        for error in errors:
            self.stderr.write(error)
        sys.exit(2)

    def handle(self, *args, **options):
        name = options["file"]
        try:
            if name == "-":
                text = sys.stdin.read()
            else:
                with open(name, encoding="utf-8") as fh:
                    text = fh.read()
        except OSError as exc:
            self.fail([f"{name}: cannot read the file ({exc.strerror})"])
        except UnicodeDecodeError:
            self.fail([f"{name}: not UTF-8 text"])
        try:
            payload = json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            self.fail([f"input: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"])
        try:
            result = settle_payload(payload=payload, draft_version_id=options["draft_version"])
        except SettlementRefused as exc:
            from policies.messages import render

            self.fail([render(p, language=options["lang"] or language_from_environment(), field_first=True)
                       for p in exc.problems])
        self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))


def language_from_environment() -> str:
    """``en`` when the environment's ``LANGUAGE`` (its first entry) is English, else ``zh-hans``."""
    first = os.environ.get("LANGUAGE", "").split(":", 1)[0].strip().lower()
    return "en" if first.startswith("en") else "zh-hans"
