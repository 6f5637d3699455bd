"""Analytics schemas: query arguments of bridges, clusters, health, segments and reach, and the reports they
answer."""

from __future__ import annotations

import re
import uuid
from datetime import date

from schemas.common import (DEFAULT_PAGE, MAX_PAGE, Id, PageArgsSchema, PageSchema, Schema, StrictSchema, ValidationError,
                            fields, trimmed, validate, validates_schema)
from schemas.collaborations import PartySchema
from schemas.members import MemberSchema
from service.analytics.bridges import DEFAULT_MIN_CUT_OFF
from service.analytics.segments import DEFAULT_BINS, MAX_BINS, MAX_VALUE_SEGMENTS
from schemas.vocabularies import term_filter

INCLUDES = ("organizations",)
# `include` may also name activities (co-participation ties), alone or after organizations.
INCLUDE_VALUES = ("organizations", "activities", "organizations,activities")
MAX_ACTIVITY_SIZE_CAP = 10_000
MAX_RESOLUTION = 10.0


def _as_of():
    return fields.Date(metadata={"description": "analyse the network as of this date (collaborations active "
                                                "then); default today"})


def _include(values=INCLUDE_VALUES):
    return fields.String(validate=validate.OneOf(values), metadata={"description": (
        "`organizations`: organizations become vertices too; " if "organizations" in values else "") + (
        "`activities`: members who took part in the same activities are tied too, 1/(n-1) per shared activity "
        "of n participants, summed with collaboration strengths (activities over `activity_size_cap` "
        "participants are skipped)")})


def _activity_size_cap():
    return fields.Integer(validate=validate.Range(min=2, max=MAX_ACTIVITY_SIZE_CAP), metadata={
        "description": "with include=activities: the largest activity whose participants count as tied (default "
                       "NETWEAVE_ACTIVITY_SIZE_CAP, 50)"})


def _source():
    return trimmed(100, metadata={"description": "only the ties of this source: `survey:<id>` for one check-in's "
                                                "(or a sync source, `api`); every member stays a vertex"})


class _ActivityCapNeedsActivities:
    @validates_schema
    def _cap_with_activities(self, data, **kwargs):
        if "activity_size_cap" in data and "activities" not in (data.get("include") or "").split(","):
            raise ValidationError("only with include=activities", "activity_size_cap")


def _limit(default: int, what: str):
    return fields.Integer(load_default=default, validate=validate.Range(min=1, max=MAX_PAGE),
                          metadata={"description": f"how many {what} to list, 1-{MAX_PAGE}"})


def _resolution():
    return fields.Float(load_default=1.0, allow_nan=False,
                        validate=validate.Range(min=0, min_inclusive=False, max=MAX_RESOLUTION),
                        metadata={"description": f"Leiden resolution, above 0 and at most {MAX_RESOLUTION:g}; "
                                                 "higher gives more, smaller clusters", "exclusiveMinimum": 0})


MAX_MIN_CUT_OFF = 1_000_000


class BridgesArgsSchema(_ActivityCapNeedsActivities, StrictSchema):
    as_of = _as_of()
    include = _include()
    activity_size_cap = _activity_size_cap()
    source = _source()
    limit = _limit(10, "brokers")
    min_cut_off = fields.Integer(
        load_default=DEFAULT_MIN_CUT_OFF, validate=validate.Range(min=0, max=MAX_MIN_CUT_OFF), metadata={
            "description": f"list only the bridge ties and articulation points that cut off at least this many "
                           f"members, 0-{MAX_MIN_CUT_OFF:,}; the default {DEFAULT_MIN_CUT_OFF} leaves out pendant "
                           f"ties (a member whose only tie it is) and cut points that cut off one member; 1 lists "
                           f"every one (0 also those that cut off only organizations)"})


class ClustersArgsSchema(_ActivityCapNeedsActivities, StrictSchema):
    as_of = _as_of()
    include = _include()
    activity_size_cap = _activity_size_cap()
    source = _source()
    resolution = _resolution()
    limit = _limit(DEFAULT_PAGE, "clusters (largest first)")


class ClusterMembersArgsSchema(_ActivityCapNeedsActivities, PageArgsSchema):
    as_of = _as_of()
    include = _include()
    activity_size_cap = _activity_size_cap()
    resolution = _resolution()


class HealthFilterSchema(StrictSchema):
    organization_id = Id(metadata={"description": "only members affiliated with this organization on the date"})
    region = trimmed(100, metadata={"description": "only members of this region"})
    role = term_filter("member_role", "only members in this role")


class HealthArgsSchema(HealthFilterSchema):
    as_of = _as_of()
    topic = trimmed(100, metadata={"description": "only members with this topic (any case)"})


class HealthQueryArgsSchema(_ActivityCapNeedsActivities, HealthArgsSchema):
    """GET /v1/analytics/health's arguments: the filters, and co-participation ties on request."""

    include = _include(("activities",))
    activity_size_cap = _activity_size_cap()
    source = _source()


class ProjectionReadSchema(StrictSchema):
    """How the analytics graph was obtained for this result."""

    read = fields.String(required=True, validate=validate.OneOf(("whole", "patched", "snapshot")), metadata={
        "description": "whole: read from the database; patched: the previous revision's graph with the parties "
                       "the change feed names since then read again; snapshot: a fresh worker's start, the graph "
                       "saved on local disk at an earlier revision, patched the same way"})
    changes = fields.Integer(allow_none=True, required=True, metadata={"description": "change entries applied "
                                                                                      "(patched, snapshot)"})
    seconds = fields.Float(required=True, metadata={"description": "time the read (or load and patch) took"})


class ActivityTiesSchema(StrictSchema):
    size_cap = fields.Integer(required=True, metadata={"description": "activities of more participants add no ties"})
    counted = fields.Integer(required=True, metadata={"description": "activities that added ties (2 to size_cap "
                                                                     "participants, started by as_of)"})
    skipped_over_cap = fields.Integer(required=True)
    weighting = fields.String(required=True)
    pairs = fields.Integer(required=True, metadata={"description": "member pairs that shared an activity"})


class TiesSchema(StrictSchema):
    """How the analytics graph's ties were derived."""

    derived_from = fields.List(fields.String(), required=True, metadata={
        "description": "collaborations; and activities with include=activities"})
    description = fields.String(required=True)
    activities = fields.Nested(ActivityTiesSchema, allow_none=True, required=True)


class ComputedSchema(StrictSchema):
    """How a result was computed."""

    algorithm = fields.String(required=True)
    parameters = fields.Dict(required=True, metadata={"description": "the arguments the result is for"})
    seed = fields.Integer(required=True, metadata={"description": "the random seed (Leiden, sampling)"})
    exact = fields.Boolean(required=True, metadata={"description": "false when a measure was estimated by sampling"})
    sample_size = fields.Integer(allow_none=True, required=True,
                                 metadata={"description": "when not exact: the sampled shortest paths (betweenness, "
                                                          "KADABRA) or source vertices (average path length)"})
    revision = fields.Integer(required=True, metadata={"description": "the graph revision the result describes"})
    as_of = fields.Date(required=True)
    seconds = fields.Float(allow_none=True, required=True, metadata={"description": "time the computation took"})
    cached = fields.Boolean(required=True, metadata={"description": "answered from the cache of this revision"})
    stale = fields.Boolean(required=True, metadata={
        "description": "true while a newer result is computed in the background (run_id): this is the last good one"})
    run_id = fields.String(allow_none=True, required=True, metadata={"description": "the run that computed it "
                                                                                    "(or is computing the next)"})
    projection = fields.Nested(ProjectionReadSchema, allow_none=True, metadata={
        "description": "how the analytics graph was obtained (null on results computed by an earlier version)"})
    age_seconds = fields.Float(allow_none=True, metadata={
        "description": "on a stale result: how long ago it was computed"})
    ties = fields.Nested(TiesSchema, metadata={"description": "how the ties were derived (absent on results "
                                                              "computed by an earlier version)"})


class BrokerSchema(StrictSchema):
    member = fields.Nested(MemberSchema, required=True)
    betweenness = fields.Float(required=True, metadata={"description": "normalized betweenness, 0-1"})
    clusters_reached = fields.Integer(required=True, metadata={"description": "clusters other than its own that "
                                                                             "its ties reach"})


def _clusters_joined(what: str):
    return fields.Integer(required=True, metadata={"description": f"how many clusters {what} (Leiden, the "
                                                                  "default resolution, as in GET "
                                                                  "/v1/analytics/clusters)"})


def _cluster_ids():
    return fields.List(Id(), required=True, metadata={"description": "the ids of those clusters"})


def _ranked(what: str) -> str:
    return (f"at most 100 {what} that cut off at least min_cut_off members, ranked by what they hold together: "
            "the most clusters joined first, then the most members cut off, then by id")


class ArticulationPointSchema(StrictSchema):
    member = fields.Nested(MemberSchema, required=True)
    cut_off = fields.Integer(required=True, metadata={"description": "members separated from the rest of the "
                                                                    "component if this member left"})
    clusters_joined = _clusters_joined("its ties meet: its own and its collaborators'")
    cluster_ids = _cluster_ids()


class TieSchema(StrictSchema):
    source_id = Id(required=True)
    target_id = Id(required=True)


class BridgeTieSchema(TieSchema):
    source = fields.Nested(PartySchema, required=True, metadata={"description": "the end with source_id"})
    target = fields.Nested(PartySchema, required=True, metadata={"description": "the end with target_id"})
    cut_off = fields.Integer(required=True, metadata={
        "description": "members on the smaller of the two sides the tie's removal would separate"})
    pendant = fields.Boolean(required=True, metadata={
        "description": "one side is a single member (or organization): its only tie"})
    clusters_joined = _clusters_joined("the tie connects: its ends' (2 when it is a tie between clusters)")
    cluster_ids = _cluster_ids()


class BridgesSchema(StrictSchema):
    brokers = fields.List(fields.Nested(BrokerSchema), required=True)
    articulation_points = fields.List(fields.Nested(ArticulationPointSchema), required=True,
                                      metadata={"description": _ranked("members")})
    articulation_points_total = fields.Integer(required=True, metadata={
        "description": "every member articulation point, whatever min_cut_off"})
    articulation_points_matching = fields.Integer(required=True, metadata={
        "description": "those that cut off at least min_cut_off members"})
    bridge_ties = fields.List(fields.Nested(BridgeTieSchema), required=True,
                              metadata={"description": _ranked("ties")})
    bridge_ties_total = fields.Integer(required=True, metadata={"description": "every bridge tie, whatever "
                                                                              "min_cut_off"})
    bridge_ties_matching = fields.Integer(required=True, metadata={
        "description": "those that cut off at least min_cut_off members"})
    pendant_ties_total = fields.Integer(required=True, metadata={
        "description": "bridge ties that are pendant ties (included in bridge_ties_total)"})
    computed = fields.Nested(ComputedSchema, required=True)


class OrganizationShareSchema(StrictSchema):
    id = Id(required=True)
    name = fields.String(allow_none=True, required=True)
    members = fields.Integer(required=True)


class TopicShareSchema(StrictSchema):
    topic = fields.String(required=True)
    members = fields.Integer(required=True)


class RegionShareSchema(StrictSchema):
    region = fields.String(required=True)
    members = fields.Integer(required=True)


class NamePartSchema(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(["organization", "region", "topic", "member"]))
    value = fields.String(required=True, metadata={"description": "an organization or member id, a region, a topic"})
    label = fields.String(required=True, metadata={"description": "as it appears in the name"})
    members = fields.Integer(required=True, metadata={"description": "the cluster's members that have it"})
    share = fields.Float(required=True, metadata={"description": "members / the cluster's members"})


class ClusterSchema(StrictSchema):
    id = Id(required=True, metadata={"description": "stable across small changes of the network"})
    name = fields.String(required=True, metadata={
        "description": "readable, from what most of its members share: the organization, else the region, "
                       "then the topic (\"Lakeside Literacy Network · literacy\"); else \"around\" the member "
                       "with most ties; repeated names are numbered \"(2)\" in size order"})
    name_basis = fields.List(fields.Nested(NamePartSchema), required=True,
                             metadata={"description": "what the name was made from, with counts"})
    size = fields.Integer(required=True)
    density = fields.Float(required=True)
    internal_ties = fields.Integer(required=True)
    external_ties = fields.Integer(required=True)
    ei_index = fields.Float(allow_none=True, required=True,
                            metadata={"description": "silo score (E-I)/(E+I): -1 closed, +1 outward"})
    top_members = fields.List(fields.Nested(MemberSchema), required=True, metadata={"description": "by degree"})
    organizations = fields.List(fields.Nested(OrganizationShareSchema), required=True)
    topics = fields.List(fields.Nested(TopicShareSchema), required=True)
    regions = fields.List(fields.Nested(RegionShareSchema), required=True)


class ClustersSchema(StrictSchema):
    modularity = fields.Float(required=True, metadata={"description": "at the requested resolution, weighted"})
    clusters_total = fields.Integer(required=True)
    clusters = fields.List(fields.Nested(ClusterSchema), required=True)
    computed = fields.Nested(ComputedSchema, required=True)


class ClusterMembersSchema(PageSchema):
    id = Id(required=True)
    size = fields.Integer(required=True)
    items = fields.List(fields.Nested(MemberSchema), required=True)
    computed = fields.Nested(ComputedSchema, required=True)


class EiIndexSchema(StrictSchema):
    organization = fields.Float(allow_none=True, required=True)
    region = fields.Float(allow_none=True, required=True)
    role = fields.Float(allow_none=True, required=True)


class KcoreSchema(StrictSchema):
    k = fields.Integer(required=True, metadata={"description": "the largest core number"})
    size = fields.Integer(required=True, metadata={"description": "members in the k-core"})


class CorePeripherySchema(StrictSchema):
    """The main core (the k-core of the largest k) against the rest of the members, the periphery."""

    core_share = fields.Float(required=True, metadata={"description": "share of the members in the main core"})
    core_density = fields.Float(allow_none=True, required=True, metadata={
        "description": "ties inside the main core over its pairs (null below two members)"})
    periphery_density = fields.Float(allow_none=True, required=True, metadata={
        "description": "ties among the other members over their pairs (null below two members)"})
    between_density = fields.Float(allow_none=True, required=True, metadata={
        "description": "ties between a core and a periphery member over such pairs (null when either is empty)"})


class HealthMetricsSchema(StrictSchema):
    members = fields.Integer(required=True)
    ties = fields.Integer(required=True, metadata={"description": "connected pairs"})
    density = fields.Float(required=True)
    average_degree = fields.Float(required=True)
    components = fields.Integer(required=True)
    largest_component_share = fields.Float(required=True)
    isolates = fields.Integer(required=True)
    transitivity = fields.Float(required=True)
    average_clustering = fields.Float(required=True)
    degree_centralization = fields.Float(allow_none=True, required=True, metadata={"description": "Freeman"})
    modularity = fields.Float(required=True)
    ei_index = fields.Nested(EiIndexSchema, required=True)
    kcore = fields.Nested(KcoreSchema, required=True)
    core_periphery = fields.Nested(CorePeripherySchema, metadata={
        "description": "always computed now; absent from snapshots stored before it was"})
    average_shortest_path = fields.Float(allow_none=True, required=True)


class HealthScopeSchema(StrictSchema):
    organization_id = Id(allow_none=True, required=True)
    region = fields.String(allow_none=True, required=True)
    role = fields.String(allow_none=True, required=True)
    topic = fields.String(allow_none=True, metadata={"description": "absent from snapshots, which take no topic"})
    source = fields.String(metadata={"description": "only the ties of this source counted (`survey:<id>`); absent "
                                                   "when every tie is"})


class HealthSchema(StrictSchema):
    scope = fields.Nested(HealthScopeSchema, required=True)
    metrics = fields.Nested(HealthMetricsSchema, required=True)
    computed = fields.Nested(ComputedSchema, required=True)


class SnapshotCreateSchema(HealthFilterSchema):
    label = trimmed(200, required=True)
    as_of = _as_of()
    source = _source()


class SnapshotSchema(StrictSchema):
    id = Id(required=True)
    label = fields.String(required=True)
    as_of = fields.Date(required=True)
    revision = fields.Integer(required=True)
    scope = fields.Nested(HealthScopeSchema, required=True)
    metrics = fields.Nested(HealthMetricsSchema, required=True)
    created_at = fields.DateTime(required=True)


class SnapshotPageSchema(PageSchema):
    items = fields.List(fields.Nested(SnapshotSchema), required=True)


class SnapshotOrDate(fields.Field):
    """A health snapshot id (UUID) or a date (YYYY-MM-DD)."""

    def __init__(self, **kwargs):
        kwargs["metadata"] = {"anyOf": [{"type": "string", "format": "uuid"}, {"type": "string", "format": "date"}],
                              **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            try:
                return str(uuid.UUID(value))
            except ValueError:
                pass
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise ValidationError("not a snapshot id or a date (YYYY-MM-DD)")


class CompareArgsSchema(HealthFilterSchema):
    from_ = SnapshotOrDate(data_key="from", required=True,
                           metadata={"description": "a snapshot id or a date (health as of then, with the filters)"})
    to = SnapshotOrDate(required=True, metadata={"description": "a snapshot id or a date"})
    source = _source()


class CompareSideSchema(StrictSchema):
    snapshot_id = Id(allow_none=True, required=True)
    label = fields.String(allow_none=True, required=True)
    as_of = fields.Date(required=True)
    revision = fields.Integer(required=True)
    scope = fields.Nested(HealthScopeSchema, required=True)
    metrics = fields.Nested(HealthMetricsSchema, required=True)


class MetricChangeSchema(StrictSchema):
    metric = fields.String(required=True, metadata={"description": "dotted name, e.g. ei_index.region"})
    from_ = fields.Raw(data_key="from", attribute="from", allow_none=True, required=True)
    to = fields.Raw(allow_none=True, required=True)
    delta = fields.Float(allow_none=True, required=True, metadata={"description": "to - from, for numbers"})


class CompareSchema(StrictSchema):
    from_ = fields.Nested(CompareSideSchema, data_key="from", attribute="from", required=True)
    to = fields.Nested(CompareSideSchema, required=True)
    changes = fields.List(fields.Nested(MetricChangeSchema), required=True)


class RunSchema(StrictSchema):
    id = Id(required=True)
    kind = fields.String(required=True, metadata={"description": "the question computed: bridges, clusters, health, layout, picture, "
                                                                 "segments, cluster-members, reach or ranking"})
    status = fields.String(required=True, metadata={"description": "queued, running, done or failed"})
    started_at = fields.DateTime(allow_none=True, required=True, metadata={
        "description": "when its latest attempt started (null while queued)"})
    finished_at = fields.DateTime(allow_none=True, required=True)
    error = fields.String(allow_none=True, required=True)
    queued_at = fields.DateTime(allow_none=True, metadata={"description": "when it was put on the job queue"})
    attempts = fields.Integer(allow_none=True, metadata={
        "description": "attempts so far: more than one when a worker stopped or died while running it, and "
                       "another took the job over"})
    worker = fields.String(allow_none=True, metadata={"description": "the analytics worker of the latest attempt"})
    note = fields.String(allow_none=True, metadata={"description": "what happened to the run, in words"})


# --- segments (equity lenses) ----------------------------------------------------------------------------

SEGMENT_BY_PATTERN = r"^(region|organization|role|attributes\.[a-z][a-z0-9_]{0,39})$"


class SegmentBy(fields.String):
    """`region`, `organization`, `role` or `attributes.NAME` (a member attribute's name)."""

    def __init__(self, **kwargs):
        kwargs["metadata"] = {"pattern": SEGMENT_BY_PATTERN, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not re.fullmatch(SEGMENT_BY_PATTERN[1:-1], text):
            raise ValidationError("region, organization, role or attributes.NAME (NAME a lower-case letter, then "
                                  "up to 39 lower-case letters, digits or underscores)")
        return text


class SegmentsArgsSchema(HealthArgsSchema):
    by = SegmentBy(required=True, metadata={
        "description": "what to segment members by: region, organization (each member in its primary "
                       "organization), role, or attributes.NAME (a defined member attribute of type string, enum, "
                       "boolean, date, integer or number)"})
    min_size = fields.Integer(validate=validate.Range(min=1, max=1000), metadata={
        "description": "segments with fewer members are pooled into `other`; default and lowest allowed value: "
                       "the deployment's NETWEAVE_SEGMENT_MIN_SIZE (5)"})
    bins = fields.Integer(validate=validate.Range(min=2, max=MAX_BINS), metadata={
        "description": "only for an integer, number or date attribute: group its values into ranges (without it, "
                       "one segment per value, as for any other lens). When its members hold more than "
                       f"{MAX_VALUE_SEGMENTS} distinct values (dates: years), the most ranges they are grouped "
                       f"into (e.g. {DEFAULT_BINS}; fewer when there are fewer than min_size members per range, "
                       "or when many members share a value)"})


class SegmentRangeSchema(StrictSchema):
    min = fields.Raw(required=True, metadata={"description": "the smallest value a member of the range holds",
                                              "type": "number"})
    max = fields.Raw(required=True, metadata={"description": "the largest value a member of the range holds",
                                              "type": "number"})


class SegmentSchema(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(("value", "range", "other", "unknown")), metadata={
        "description": "value: the members with one value; range: the members with a value in `range` (grouping "
                       "quantiles); other: the segments of fewer than min_size members, pooled; unknown: members "
                       "without a value"})
    value = fields.Raw(allow_none=True, required=True, metadata={
        "description": "the value (an organization's id for by=organization; a year when grouping's unit is "
                       "year); null for range, other and unknown",
        "type": ["string", "number", "boolean"]})
    label = fields.String(required=True, metadata={
        "description": "what to call the segment: the value as text (an organization's name), a range as "
                       "\"min-max\" (\"min to max\" when min is negative), \"Other (N groups of fewer than M "
                       "members)\", \"Unknown (no value)\""})
    range = fields.Nested(SegmentRangeSchema, allow_none=True, required=True, metadata={
        "description": "for a range segment, the smallest and largest value (or year) its members hold; "
                       "null otherwise"})
    size = fields.Integer(required=True)
    internal_ties = fields.Integer(required=True)
    external_ties = fields.Integer(required=True)
    ei_index = fields.Float(allow_none=True, required=True,
                            metadata={"description": "(E-I)/(E+I): -1 all ties inside, +1 all outward"})
    density = fields.Float(required=True, metadata={"description": "internal ties over the segment's pairs"})


class AttributeRefSchema(StrictSchema):
    name = fields.String(required=True)
    type = fields.String(required=True)


class AssignmentSchema(StrictSchema):
    rule = fields.String(required=True, validate=validate.OneOf(("value", "primary_organization")))
    description = fields.String(required=True)


class GroupingSchema(StrictSchema):
    method = fields.String(required=True, validate=validate.OneOf(("values", "quantiles")), metadata={
        "description": "values: a segment per value; quantiles: an integer, number or date attribute with more "
                       f"than {MAX_VALUE_SEGMENTS} distinct values (or years) grouped into contiguous ranges of "
                       "about equal numbers of members, edges taken from the data, equal values never split"})
    unit = fields.String(required=True, validate=validate.OneOf(("value", "year")), metadata={
        "description": f"year: a date attribute with more than {MAX_VALUE_SEGMENTS} distinct dates, read as "
                       "calendar years (then grouped by method)"})
    bins = fields.Integer(allow_none=True, required=True, metadata={"description": "ranges made (quantiles)"})
    max_bins = fields.Integer(allow_none=True, required=True, metadata={
        "description": "the most ranges asked for (`bins`); null when the lens is not numbers or dates"})


class PooledSchema(StrictSchema):
    segments = fields.Integer(required=True, metadata={"description": "values (or ranges) pooled into `other`"})
    members = fields.Integer(required=True, metadata={"description": "members in `other`"})


def _matrix(description: str, cell) -> fields.List:
    return fields.List(fields.List(cell), required=True, metadata={"description": description})


class SegmentsSchema(StrictSchema):
    by = fields.String(required=True)
    attribute = fields.Nested(AttributeRefSchema, allow_none=True, required=True,
                              metadata={"description": "the member attribute, for by=attributes.NAME"})
    assignment = fields.Nested(AssignmentSchema, required=True,
                               metadata={"description": "how members were put into segments"})
    members = fields.Integer(required=True)
    ties = fields.Integer(required=True, metadata={"description": "connected pairs among these members"})
    min_size = fields.Integer(required=True)
    grouping = fields.Nested(GroupingSchema, required=True, metadata={"description": "how values became segments"})
    pooled = fields.Nested(PooledSchema, required=True)
    unknown_members = fields.Integer(required=True, metadata={"description": "members in the `unknown` segment"})
    segments = fields.List(fields.Nested(SegmentSchema), required=True, metadata={
        "description": "values largest first (ranges in ascending order), then `other`, then `unknown`; matrix "
                       "and reach are indexed alike"})
    matrix = _matrix("ties between segments, each counted once: row i, column j >= i (i = j: inside segment i); "
                     "cells below the diagonal are 0, so the cells sum to `ties`", fields.Integer())
    reach = _matrix("row i, column j: the share of segment i's members who reach a member of segment j (other "
                    "than themselves) within two steps", fields.Float())
    assortativity = fields.Float(allow_none=True, required=True, metadata={
        "description": "Newman's assortativity coefficient over ties between members with a value, on the values "
                       "themselves (before grouping into ranges or years, and before pooling): +1 ties only within "
                       "a value (numeric: between like values), 0 as by chance, negative across; null when "
                       "undefined"})
    assortativity_kind = fields.String(required=True, validate=validate.OneOf(("categorical", "numeric")),
                                       metadata={"description": "numeric for integer and number attributes"})
    scope = fields.Nested(HealthScopeSchema, required=True)
    computed = fields.Nested(ComputedSchema, required=True)


# --- reach and cores ----------------------------------------------------------------------------------

REACH_SORTS = ("reach", "reach_efficiency", "coreness")


class ReachArgsSchema(PageArgsSchema):
    as_of = _as_of()
    sort = fields.String(load_default="reach", validate=validate.OneOf(REACH_SORTS),
                         metadata={"description": "highest first (then by id); members without ties rank last by "
                                                  "reach_efficiency"})


class MemberReachSchema(StrictSchema):
    member = fields.Nested(MemberSchema, required=True)
    degree = fields.Integer(required=True, metadata={"description": "collaborators (connected members)"})
    two_step_reach = fields.Integer(required=True, metadata={"description": "other members within two steps"})
    reach = fields.Float(required=True, metadata={"description": "two_step_reach / (members - 1): the share of the "
                                                                 "network within two steps"})
    reach_efficiency = fields.Float(allow_none=True, required=True, metadata={
        "description": "reach / degree: the share of the network each direct tie opens up; null without ties"})
    coreness = fields.Integer(required=True, metadata={"description": "k-core number"})


class ReachPageSchema(PageSchema):
    items = fields.List(fields.Nested(MemberReachSchema), required=True)
    members_total = fields.Integer(required=True)
    sort = fields.String(required=True)
    computed = fields.Nested(ComputedSchema, required=True)


class RankingArgsSchema(StrictSchema):
    """No arguments: the ranking is the network's own (an unknown query parameter is refused, not ignored)."""


class RankingModelSchema(Schema):
    basis = fields.String(required=True, metadata={"description": "learned"})
    version = fields.Integer(required=True, metadata={"description": "grows by one per model trained"})
    trained_at = fields.String(required=True)
    trained_on_revision = fields.Integer(required=True, metadata={"description": "the graph revision it learned from"})
    weights = fields.Dict(keys=fields.String(), values=fields.Float(), required=True, metadata={
        "description": "per feature, in the feature's own units: score = bias + sum of weight x feature"})
    bias = fields.Float(required=True)
    role_affinity = fields.Dict(keys=fields.String(), values=fields.Float(), required=True, metadata={
        "description": "the role_pair feature per pair of roles (\"coach|teacher\"): ln of observed over expected "
                       "ties between them, one added to each"})
    figures = fields.Dict(required=True, metadata={
        "description": "how it was trained (ties, hidden ties per round, rounds, examples, positives, feedback) "
                       "and, on members kept out of fitting, hits@10 of the model, Adamic-Adar and the hand-set "
                       "weights over the same candidates"})


class RankingSchema(Schema):
    basis = fields.String(required=True, metadata={"description": "learned, or hand-set while no model exists"})
    retrained = fields.Boolean(required=True, metadata={"description": "this answer trained a new model"})
    model = fields.Nested(RankingModelSchema, allow_none=True, required=True)
    features = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                           metadata={"description": "each feature a recommendation is scored on, and what it measures"})
    reason = fields.String(metadata={"description": "why no model was trained"})
    computed = fields.Nested(ComputedSchema, required=True)
