"""The cases part's pages (see ``cases/urls.py``): work queues, persons, claims and their import,
cases with their settlement, actions and slip, and payments. Views are thin: selectors read (region
scoped), services write, and refusals are shown as messages or next to the field."""
