"""Network alerts and their thresholds, as the API shows and takes them."""

from __future__ import annotations

from marshmallow import Schema

from schemas.common import Id, JsonNumber, PageArgsSchema, PageSchema, StrictSchema, WholeNumber, fields, validate
from service.analytics.alerting import HEALTH_METRICS, Thresholds
from service.repositories.alerts import KINDS

_DEFAULT = Thresholds()
MAX_CUT_OFF = 1_000_000
MAX_TOP_K = 10          # the default bridges report lists ten brokers
ABOVE_ZERO = validate.Range(min=0, min_inclusive=False, max=1e9)


class AlertSettingsSchema(StrictSchema):
    cut_point_min_cut_off = WholeNumber(required=True, validate=validate.Range(min=1, max=MAX_CUT_OFF), metadata={
        "description": "cut_point.new: a member who becomes an articulation point cutting off at least this many "
                       f"members (default {_DEFAULT.cut_point_min_cut_off})"})
    broker_top_k = WholeNumber(required=True, validate=validate.Range(min=1, max=MAX_TOP_K), metadata={
        "description": "broker.inactive: how many of the previous report's top brokers (by betweenness) are "
                       f"watched (default {_DEFAULT.broker_top_k})"})
    silo_ei_threshold = JsonNumber(required=True, validate=validate.Range(min=-1, max=1), metadata={
        "description": "silo: a cluster whose E-I index falls below this value (default "
                       f"{_DEFAULT.silo_ei_threshold})"})
    silo_min_size = WholeNumber(required=True, validate=validate.Range(min=2, max=MAX_CUT_OFF), metadata={
        "description": f"silo: only clusters of at least this many members (default {_DEFAULT.silo_min_size})"})
    health_metric = fields.String(required=True, validate=validate.OneOf(HEALTH_METRICS), metadata={
        "description": "health.changed: the health report's metric followed (nested ones by dotted name; default "
                       f"{_DEFAULT.health_metric})"})
    health_threshold = JsonNumber(required=True, validate=ABOVE_ZERO, metadata={
        "description": "health.changed: how far the metric must move (absolute) from its value at its last alert, "
                       f"or at the first report (default {_DEFAULT.health_threshold})", "exclusiveMinimum": 0})
    version = fields.Integer(dump_only=True, metadata={"description": "0 until the first PUT"})
    updated_at = fields.DateTime(dump_only=True, allow_none=True)


class AlertArgsSchema(PageArgsSchema):
    kind = fields.String(validate=validate.OneOf(KINDS), metadata={"description": "only alerts of this kind"})


class AlertSchema(Schema):
    seq = fields.Integer(required=True, metadata={"description": "position in commit order"})
    id = Id(required=True)
    kind = fields.String(required=True, metadata={"enum": list(KINDS)})
    at = fields.DateTime(required=True)
    subject = fields.String(allow_none=True, required=True, metadata={
        "description": "what it is about: a member id (cut_point.new, broker.inactive), a cluster id (silo), a "
                       "metric name (health.changed)"})
    data = fields.Dict(required=True, metadata={"description": "the figures behind the alert; ids and names, never "
                                                               "personal data"})


class AlertPageSchema(PageSchema):
    items = fields.List(fields.Nested(AlertSchema), required=True)
