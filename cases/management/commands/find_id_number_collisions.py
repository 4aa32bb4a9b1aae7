"""manage.py find_id_number_collisions — persons whose identity numbers are the same number once
normalised (``cases.identity_numbers.normalise``: full-width or other Unicode digits, a lower-case
x, spaces), and stored numbers not yet in normal form.

The data migration ``0004_normalise_identity_numbers`` rewrote every stored number it could; a
number it could not rewrite because the normal form was already registered to another person is
a duplicate person (each with its own annual cap) that staff must merge by hand. This command lists
them, masked (the full numbers are never printed), with each person's id, region, name and cases.
Exit status 0 when there is nothing to report, 1 otherwise (usable in monitoring).
"""
import sys

from django.core.management.base import BaseCommand
from django.db.models import Count

from cases import identity_numbers
from cases.models import Person


class Command(BaseCommand):
    help = ("List persons whose identity numbers collide once normalised (full-width or other Unicode "
            "digits, lower-case x), and numbers stored in a non-normal form. Exit status 1 if any.")

    def handle(self, *args, **options):
        rows = Person.objects.order_by("pk").values_list("pk", "id_number").iterator(chunk_size=5000)
        stored = {}
        for pk, number in rows:
            stored[pk] = number
        groups = identity_numbers.collisions(stored.items())
        odd = [pk for pk, number in stored.items() if identity_numbers.normalise(number) != number
               and not any(pk in keys for keys in groups.values())]
        people = {p.pk: p for p in Person.objects.filter(pk__in=[k for keys in groups.values() for k in keys] + odd)
                  .select_related("region").annotate(n_cases=Count("applications"))}
        for number, keys in groups.items():
            self.stdout.write(f"collision {identity_numbers.mask(number)}: {len(keys)} persons")
            for pk in keys:
                self.stdout.write("  " + self._describe(people[pk]))
        for pk in odd:
            self.stdout.write(f"not normalised {identity_numbers.mask(stored[pk])}: " + self._describe(people[pk]))
        self.stdout.write(f"{len(groups)} collision(s), {len(odd)} number(s) not in normal form, "
                          f"{len(stored)} person(s) checked")
        if groups or odd:
            sys.exit(1)

    @staticmethod
    def _describe(person) -> str:
        return (f"person {person.pk} {person.name} region {person.region_id} {person.region.name} "
                f"cases {person.n_cases} created {person.created_at:%Y-%m-%d}")
