"""Where a sync batch's time goes: per named statement, in Python, and end to end, in one process.

Posts the records of bench/sync.py through the Flask test client (no gunicorn, no HTTP) against the
Neo4j at $NEO4J_URI, which it empties first, and prints the seconds per 1,000 records of each
statement and of the whole request; --cprofile adds the Python functions that cost most.

    NEO4J_URI=bolt://127.0.0.1:7687 .venv/bin/python bench/sync_profile.py --members 10000 --collaborations 30000
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.sync import batches, generate  # noqa: E402
from service import create_app, db  # noqa: E402

ADMIN_KEY = "bench-admin-key-0123456789"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--collaborations", type=int, default=30_000)
    parser.add_argument("--cprofile", action="store_true")
    args = parser.parse_args()

    app = create_app({"NEO4J_URI": os.environ["NEO4J_URI"], "NETWEAVE_ADMIN_KEY": ADMIN_KEY,
                      "NETWEAVE_MAX_BODY_BYTES": 8 * 1024 * 1024, "NETWEAVE_LOG_LEVEL": "warning"})
    graph = app.extensions[db.EXTENSION]
    graph.ensure_bootstrapped()
    with graph.driver.session(database=graph.database) as session:
        session.run("MATCH (n) WHERE NOT n:ApiKey CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS").consume()

    spent: dict[str, float] = defaultdict(float)
    def timing(original):
        def timed(tx, name, /, **params):
            started = time.perf_counter()
            try:
                return original(tx, name, **params)
            finally:
                spent[name] += time.perf_counter() - started
        return timed

    db.run, db.run_scalars = timing(db.run), timing(db.run_scalars)
    members, ties = generate(args.members, args.collaborations)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    profiler = cProfile.Profile() if args.cprofile else None
    for path, records in (("/v1/sync/members", members), ("/v1/sync/collaborations", ties)):
        spent.clear()
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        for chunk in batches(records):
            response = client.post(path, data=json.dumps({"source": "crm", "records": chunk}),
                                   headers=headers, content_type="application/json")
            assert response.status_code == 200, response.get_data(as_text=True)[:300]
        if profiler:
            profiler.disable()
        total = time.perf_counter() - started
        per = 1000 / len(records)
        print(f"{path}: {len(records) / total:,.0f} rec/s; seconds per 1,000 records:")
        print(f"  {'request (in process)':<34}{total * per:8.3f}")
        for name, seconds in sorted(spent.items(), key=lambda item: -item[1]):
            print(f"  {name:<34}{seconds * per:8.3f}")
        print(f"  {'python (request - statements)':<34}{(total - sum(spent.values())) * per:8.3f}")
    if profiler:
        pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(45)


if __name__ == "__main__":
    main()
