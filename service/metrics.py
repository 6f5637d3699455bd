"""The Prometheus histograms of the data layer: named statements, transactions, check-in saves.

Kept apart from the HTTP edge's request metrics (service/web/observability.py) so that the data layer,
the analytics worker and the command line observe them without importing a web framework; /metrics
serves them all from the same registry."""

from __future__ import annotations

from prometheus_client import Histogram

SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
QUERY_SECONDS = Histogram("netweave_neo4j_query_duration_seconds",
                          "Time to run one named Cypher statement and read its rows", ["query"], buckets=SECONDS)
CHECK_IN_SAVES = Histogram("netweave_check_in_saves_per_transaction",
                           "Check-in saves (PUT /v1/respond/{token}) written together in one transaction",
                           buckets=(1, 2, 4, 8, 16, 32))
TRANSACTION_SECONDS = Histogram("netweave_neo4j_transaction_duration_seconds",
                                "Time of a Neo4j transaction, retries included", ["mode", "outcome"],
                                buckets=SECONDS)
