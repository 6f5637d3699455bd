"""Layout and picture schemas: the explorer's compact layout report and the arguments of the network maps."""

from __future__ import annotations

from schemas.analytics import ComputedSchema, HealthArgsSchema, HealthScopeSchema
from schemas.common import Id, StrictSchema, ValidationError, fields, validate, validates_schema

VIEWS = ("auto", "clusters")


class LayoutArgsSchema(HealthArgsSchema):
    view = fields.String(load_default="auto", validate=validate.OneOf(VIEWS), metadata={
        "description": "`auto`: every member up to 5,000 members, clusters as bubbles above; "
                       "`clusters`: bubbles whatever the size"})


class LayoutQueryArgsSchema(LayoutArgsSchema):
    attributes = fields.Boolean(load_default=False, truthy={"true"}, falsy={"false"}, metadata={
        "description": "add the shown members' custom attributes (`members.attributes`), for colouring and "
                       "filtering; personal ones only with the `pii` scope"})


class MapArgsSchema(LayoutArgsSchema):
    cluster_id = Id(metadata={"description": "draw only this cluster (an id from /v1/analytics/clusters)"})
    member_id = Id(metadata={"description": "draw only this member's neighbourhood"})
    depth = fields.Integer(load_default=1, validate=validate.Range(min=1, max=2),
                           metadata={"description": "hops around member_id, 1 or 2"})
    width = fields.Integer(load_default=1000, validate=validate.Range(min=300, max=4000),
                           metadata={"description": "side of the drawing in pixels (a 300 px legend is added)"})

    @validates_schema
    def _one_focus(self, data, **kwargs):
        if data.get("cluster_id") and data.get("member_id"):
            raise ValidationError("give cluster_id or member_id, not both", "member_id")


def _ints(description: str):
    return fields.List(fields.Integer(), required=True, metadata={"description": description})


def _floats(description: str):
    return fields.List(fields.Float(), required=True, metadata={"description": description})


class LayoutMembersSchema(StrictSchema):
    """Parallel arrays, one entry per member shown (empty in the clusters view)."""

    id = fields.List(Id(), required=True)
    name = fields.List(fields.String(allow_none=True), required=True)
    x = _floats("0 to extent, left to right")
    y = _floats("0 to extent, top to bottom")
    cluster = _ints("index into the clusters arrays")
    degree = _ints("connected members in the whole network")
    betweenness = _floats("normalized betweenness in the whole network")
    broker = fields.List(fields.Boolean(), required=True, metadata={"description": "among the top 10 brokers"})
    articulation_point = fields.List(fields.Boolean(), required=True)
    region = fields.List(fields.String(allow_none=True), required=True)
    role = fields.List(fields.String(allow_none=True), required=True)
    attributes = fields.Dict(keys=fields.String(), values=fields.Nested(lambda: LayoutAttributeSchema()), metadata={
        "description": "with `?attributes=true`: each member attribute's type, label and values, one per "
                       "member shown (null where unset)"})


class LayoutAttributeSchema(StrictSchema):
    type = fields.String(required=True)
    label = fields.String(required=True)
    values = fields.List(fields.Raw(allow_none=True), required=True)


class LayoutTiesSchema(StrictSchema):
    source = _ints("index into the members arrays")
    target = _ints("index into the members arrays")
    strength = _floats("summed strength of the pair's collaborations")


class LayoutClustersSchema(StrictSchema):
    """Parallel arrays, one entry per cluster with members shown."""

    id = fields.List(Id(), required=True)
    name = fields.List(fields.String(), required=True, metadata={
        "description": "readable names, as in /v1/analytics/clusters"})
    rank = _ints("0 for the largest cluster of the whole network, and so on (colours follow it)")
    colour = fields.List(fields.String(), required=True, metadata={
        "description": "the cluster's colour (`#rrggbb`): `palette.colours[rank]`, `palette.other` beyond them"})
    size = _ints("members of the cluster in the whole network")
    members_shown = _ints("members of the cluster that pass the filters")
    x = _floats("bubble centre (members view: the centre of its members)")
    y = _floats("bubble centre")
    radius = _floats("bubble radius (members view: the farthest member from the centre)")


class LayoutPaletteSchema(StrictSchema):
    colours = fields.List(fields.String(), required=True, metadata={
        "description": "the clusters' colours by rank (twenty, distinct for colour-blind viewers: Okabe-Ito, "
                       "then Paul Tol's muted and light sets), as the pictures draw them"})
    other = fields.String(required=True, metadata={"description": "the colour of every cluster beyond them"})


class LayoutClusterTiesSchema(StrictSchema):
    source = _ints("index into the clusters arrays")
    target = _ints("index into the clusters arrays")
    ties = _ints("connected member pairs between the two clusters")
    strength = _floats("their summed strength")


class LayoutSchema(StrictSchema):
    view = fields.String(required=True, metadata={"description": "`members` or `clusters` (bubbles)"})
    extent = fields.Float(required=True, metadata={"description": "coordinates lie in [0, extent]"})
    members_total = fields.Integer(required=True)
    members_shown = fields.Integer(required=True)
    scope = fields.Nested(HealthScopeSchema, required=True)
    regions = fields.List(fields.String(), required=True, metadata={"description": "the network's regions"})
    roles = fields.List(fields.String(), required=True, metadata={"description": "the roles its members have"})
    topics = fields.List(fields.String(), required=True, metadata={"description": "the topics its members have"})
    palette = fields.Nested(LayoutPaletteSchema, required=True)
    members = fields.Nested(LayoutMembersSchema, required=True)
    ties = fields.Nested(LayoutTiesSchema, required=True)
    clusters = fields.Nested(LayoutClustersSchema, required=True)
    cluster_ties = fields.Nested(LayoutClusterTiesSchema, required=True)
    computed = fields.Nested(ComputedSchema, required=True)
