// Ego networks (GET /v1/members/{id}/network): a member, the members around it, and the ties among them.
// Only members are parties here, and only collaborations active on $as_of count, as in the analytics graph.

// name: ego_alters
// The member $id's collaborators and their collaborators, or no row when there is no such member. One row:
// degree (collaborators), first (at most $limit [id, summed strength] pairs, strongest first, then by id),
// second_total (members two steps away: a collaborator's collaborators who are neither $id nor one of its
// collaborators) and second (at most $limit [id, mutual] pairs, where mutual counts the member's collaborators
// tied to them; most first, then by id). The walk is two steps: its cost is bounded by the degrees it meets.
MATCH (ego:Member {id: $id})
CALL (ego) {
    MATCH (ego)-[c:COLLABORATES_WITH]-(x:Member)
    WHERE x <> ego
      AND (c.started_on IS NULL OR c.started_on <= $as_of) AND (c.ended_on IS NULL OR c.ended_on >= $as_of)
    WITH x, sum(coalesce(c.strength, 3)) AS strength
    ORDER BY strength DESC, x.id
    RETURN collect(x) AS contacts, collect([x.id, strength]) AS first
}
CALL (ego, contacts) {
    UNWIND contacts AS x
    MATCH (x)-[c:COLLABORATES_WITH]-(y:Member)
    WHERE y <> ego
      AND (c.started_on IS NULL OR c.started_on <= $as_of) AND (c.ended_on IS NULL OR c.ended_on >= $as_of)
      AND NOT EXISTS {
          MATCH (ego)-[d:COLLABORATES_WITH]-(y)
          WHERE (d.started_on IS NULL OR d.started_on <= $as_of) AND (d.ended_on IS NULL OR d.ended_on >= $as_of)
      }
    WITH y, count(DISTINCT x) AS mutual
    ORDER BY mutual DESC, y.id
    RETURN count(y) AS second_total, collect([y.id, mutual])[..$limit] AS second
}
RETURN size(first) AS degree, first[..$limit] AS first, second_total, second

// name: ego_ties
// The ties among the members $ids on $as_of: one row per connected pair (source_id < target_id) with the
// pair's summed strength and its number of collaborations, ordered by the pair.
UNWIND $ids AS member_id
MATCH (a:Member {id: member_id})-[c:COLLABORATES_WITH]-(b:Member)
WHERE a.id < b.id AND b.id IN $ids
  AND (c.started_on IS NULL OR c.started_on <= $as_of) AND (c.ended_on IS NULL OR c.ended_on >= $as_of)
RETURN a.id AS source_id, b.id AS target_id, sum(coalesce(c.strength, 3)) AS strength,
       count(c) AS collaborations
ORDER BY source_id, target_id
