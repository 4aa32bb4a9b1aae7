"""What the benchmarks share about their databases (imported as ``bench.databases``)."""
from __future__ import annotations

import os


def create_database(name: str) -> str:
    """The SQL that creates a benchmark's fresh database. With ``BENCH_TEMPLATE_DB`` set (bench/run-small
    migrates one database first), the new one is a copy of it: ``migrate`` then has nothing left to do,
    instead of 40 CPU-seconds of migrations per benchmark."""
    template = os.environ.get("BENCH_TEMPLATE_DB", "")
    return f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
