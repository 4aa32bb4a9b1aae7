from tests.cases.conftest import _fast_passwords, cz_team, stats, team  # noqa: F401  (the cases part's fixtures)
