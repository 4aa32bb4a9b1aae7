from tests.cases.conftest import cz_team, fast_passwords, stats, team  # noqa: F401  (the cases part's fixtures)
