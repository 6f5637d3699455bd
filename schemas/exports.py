"""Export schemas: the query arguments of GET /v1/export (the analytics filters plus a format)."""

from __future__ import annotations

from schemas.analytics import HealthFilterSchema, _as_of, _include, _source
from schemas.common import fields, validate

FORMAT_NAMES = ("graphml", "gexf", "json", "csv")
ANALYTICS_MODES = ("cached", "compute")


class ExportArgsSchema(HealthFilterSchema):
    format = fields.String(required=True, validate=validate.OneOf(FORMAT_NAMES), metadata={
        "description": "`graphml` and `gexf` (Gephi), `json` (Kumu's elements/connections blueprint), "
                       "`csv` (a zip of nodes.csv and ties.csv)"})
    as_of = _as_of()
    include = _include()
    source = _source()
    analytics = fields.String(load_default="cached", validate=validate.OneOf(ANALYTICS_MODES), metadata={
        "description": "`cached` (default): cluster_id, betweenness and articulation_point from the results "
                       "the engine holds for this revision, else the values last written back onto members "
                       "(today's members-only graph), else left out; `compute`: compute them first, as "
                       "GET /v1/analytics/bridges does (202 with a run to poll when that takes too long). "
                       "The `Netweave-Analytics` header says where each came from"})
