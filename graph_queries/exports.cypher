// Exports: the nodes and ties of the analytics graph with their attributes, streamed row by row.
// Every statement takes the same selection: $as_of (ties and affiliations active then), $organizations
// (organizations become nodes, affiliations ties), and member filters $region, $role, $organization_id
// (affiliated on $as_of); with any filter, the organizations are those a selected member belongs to; with
// $source, only the collaborations of that source.

// name: export_counts
// How many members, organizations, collaborations and affiliations the export holds (for progress bars):
// the predicates are those of the statements below.
CALL () {
    MATCH (m:Member)
    WHERE ($region IS NULL OR m.region = $region) AND ($role IS NULL OR m.role = $role)
      AND ($organization_id IS NULL OR EXISTS {
            MATCH (m)-[a:MEMBER_OF]->(:Organization {id: $organization_id})
            WHERE (a.since IS NULL OR a.since <= $as_of) AND (a.until IS NULL OR a.until >= $as_of) })
    RETURN count(m) AS members
}
CALL () {
    MATCH (o:Organization)
    WHERE $organizations AND (($region IS NULL AND $role IS NULL AND $organization_id IS NULL)
       OR o.id = $organization_id
       OR EXISTS {
            MATCH (m:Member)-[a:MEMBER_OF]->(o)
            WHERE (a.since IS NULL OR a.since <= $as_of) AND (a.until IS NULL OR a.until >= $as_of)
              AND ($region IS NULL OR m.region = $region) AND ($role IS NULL OR m.role = $role)
              AND ($organization_id IS NULL OR EXISTS {
                    MATCH (m)-[b:MEMBER_OF]->(:Organization {id: $organization_id})
                    WHERE (b.since IS NULL OR b.since <= $as_of) AND (b.until IS NULL OR b.until >= $as_of) }) })
    RETURN count(o) AS organizations
}
CALL () {
    MATCH (a)-[c:COLLABORATES_WITH]->(b)
    WHERE (c.started_on IS NULL OR c.started_on <= $as_of) AND (c.ended_on IS NULL OR c.ended_on >= $as_of)
      AND ($source IS NULL OR c.source = $source)
      AND all(x IN [a, b] WHERE
            (x:Member AND ($region IS NULL OR x.region = $region) AND ($role IS NULL OR x.role = $role)
             AND ($organization_id IS NULL OR EXISTS {
                   MATCH (x)-[f:MEMBER_OF]->(:Organization {id: $organization_id})
                   WHERE (f.since IS NULL OR f.since <= $as_of) AND (f.until IS NULL OR f.until >= $as_of) }))
         OR (x:Organization AND $organizations
             AND (($region IS NULL AND $role IS NULL AND $organization_id IS NULL)
              OR x.id = $organization_id
              OR EXISTS {
                   MATCH (m:Member)-[f:MEMBER_OF]->(x)
                   WHERE (f.since IS NULL OR f.since <= $as_of) AND (f.until IS NULL OR f.until >= $as_of)
                     AND ($region IS NULL OR m.region = $region) AND ($role IS NULL OR m.role = $role)
                     AND ($organization_id IS NULL OR EXISTS {
                           MATCH (m)-[g:MEMBER_OF]->(:Organization {id: $organization_id})
                           WHERE (g.since IS NULL OR g.since <= $as_of) AND (g.until IS NULL OR g.until >= $as_of) })
                 })))
    RETURN count(c) AS collaborations
}
CALL () {
    MATCH (m:Member)-[a:MEMBER_OF]->(o:Organization)
    WHERE $organizations
      AND (a.since IS NULL OR a.since <= $as_of) AND (a.until IS NULL OR a.until >= $as_of)
      AND ($region IS NULL OR m.region = $region) AND ($role IS NULL OR m.role = $role)
      AND ($organization_id IS NULL OR EXISTS {
            MATCH (m)-[f:MEMBER_OF]->(:Organization {id: $organization_id})
            WHERE (f.since IS NULL OR f.since <= $as_of) AND (f.until IS NULL OR f.until >= $as_of) })
    RETURN count(a) AS affiliations
}
RETURN members, organizations, collaborations, affiliations

// name: export_members
// One row per selected member: its attributes (email only when $pii), the organizations it belongs to on
// $as_of as [id, name] pairs ordered by name, and the cluster id and betweenness last written back.
MATCH (m:Member)
WHERE ($region IS NULL OR m.region = $region) AND ($role IS NULL OR m.role = $role)
  AND ($organization_id IS NULL OR EXISTS {
        MATCH (m)-[a:MEMBER_OF]->(:Organization {id: $organization_id})
        WHERE (a.since IS NULL OR a.since <= $as_of) AND (a.until IS NULL OR a.until >= $as_of) })
RETURN m.id AS id, m.name AS name, CASE WHEN $pii THEN m.email END AS email, m.role AS role, m.title AS title,
       m.region AS region, coalesce(m.topics, []) AS topics, coalesce(m.populations, []) AS populations,
       coalesce(m.discoverable, true) AS discoverable,
       COLLECT {
           MATCH (m)-[a:MEMBER_OF]->(o:Organization)
           WHERE (a.since IS NULL OR a.since <= $as_of) AND (a.until IS NULL OR a.until >= $as_of)
           RETURN [o.id, o.name] ORDER BY o.name_key, o.id
       } AS organizations,
       m.cluster_id AS cluster_id, m.betweenness AS betweenness,
       [k IN keys(m) WHERE k STARTS WITH 'attr.' | [substring(k, 5), m[k]]] AS attributes

// name: export_organizations
// One row per selected organization (none unless $organizations): its attributes.
MATCH (o:Organization)
WHERE $organizations AND (($region IS NULL AND $role IS NULL AND $organization_id IS NULL)
   OR o.id = $organization_id
   OR EXISTS {
        MATCH (m:Member)-[a:MEMBER_OF]->(o)
        WHERE (a.since IS NULL OR a.since <= $as_of) AND (a.until IS NULL OR a.until >= $as_of)
          AND ($region IS NULL OR m.region = $region) AND ($role IS NULL OR m.role = $role)
          AND ($organization_id IS NULL OR EXISTS {
                MATCH (m)-[b:MEMBER_OF]->(:Organization {id: $organization_id})
                WHERE (b.since IS NULL OR b.since <= $as_of) AND (b.until IS NULL OR b.until >= $as_of) }) })
RETURN o.id AS id, o.name AS name, o.kind AS kind, o.region AS region, coalesce(o.topics, []) AS topics,
       [k IN keys(o) WHERE k STARTS WITH 'attr.' | [substring(k, 5), o[k]]] AS attributes

// name: export_collaborations
// The collaborations active on $as_of whose two parties are both exported nodes (source and target as
// stored; the export reads them as undirected), grouped by source: one record per source node with all its
// ties as lists ([id, target, kind, strength, trust, value, reciprocated, started_on, ended_on, source,
// note, attributes]). A record per tie cost the driver more than the document's writing (bench/export_load.py).
MATCH (a) WHERE a:Member OR a:Organization
CALL (a) {
    MATCH (a)-[c:COLLABORATES_WITH]->(b)
    WHERE (c.started_on IS NULL OR c.started_on <= $as_of) AND (c.ended_on IS NULL OR c.ended_on >= $as_of)
      AND ($source IS NULL OR c.source = $source)
      AND all(x IN [a, b] WHERE
            (x:Member AND ($region IS NULL OR x.region = $region) AND ($role IS NULL OR x.role = $role)
             AND ($organization_id IS NULL OR EXISTS {
                   MATCH (x)-[f:MEMBER_OF]->(:Organization {id: $organization_id})
                   WHERE (f.since IS NULL OR f.since <= $as_of) AND (f.until IS NULL OR f.until >= $as_of) }))
         OR (x:Organization AND $organizations
             AND (($region IS NULL AND $role IS NULL AND $organization_id IS NULL)
              OR x.id = $organization_id
              OR EXISTS {
                   MATCH (m:Member)-[f:MEMBER_OF]->(x)
                   WHERE (f.since IS NULL OR f.since <= $as_of) AND (f.until IS NULL OR f.until >= $as_of)
                     AND ($region IS NULL OR m.region = $region) AND ($role IS NULL OR m.role = $role)
                     AND ($organization_id IS NULL OR EXISTS {
                           MATCH (m)-[g:MEMBER_OF]->(:Organization {id: $organization_id})
                           WHERE (g.since IS NULL OR g.since <= $as_of) AND (g.until IS NULL OR g.until >= $as_of) })
                 })))
    RETURN collect([c.id, b.id, c.kind, coalesce(c.strength, 3), c.trust, c.value, c.reciprocated, c.started_on,
                    c.ended_on, c.source, c.note, [k IN keys(c) WHERE k STARTS WITH 'attr.' | [substring(k, 5), c[k]]]]) AS ties
}
WITH a, ties WHERE size(ties) > 0
RETURN a.id AS source, ties

// name: export_affiliations
// One row per affiliation active on $as_of between exported nodes (none unless $organizations).
MATCH (m:Member)-[a:MEMBER_OF]->(o:Organization)
WHERE $organizations
  AND (a.since IS NULL OR a.since <= $as_of) AND (a.until IS NULL OR a.until >= $as_of)
  AND ($region IS NULL OR m.region = $region) AND ($role IS NULL OR m.role = $role)
  AND ($organization_id IS NULL OR EXISTS {
        MATCH (m)-[f:MEMBER_OF]->(:Organization {id: $organization_id})
        WHERE (f.since IS NULL OR f.since <= $as_of) AND (f.until IS NULL OR f.until >= $as_of) })
RETURN m.id AS source, o.id AS target, a.role AS role, a.since AS since, a.until AS until
