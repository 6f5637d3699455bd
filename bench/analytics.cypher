// Statements only bench/analytics.py uses: bulk loading of the generated network, and projection shapes to compare.

// name: bench_count_members
// How many members the database holds (the bench loads its network only into an empty one).
MATCH (m:Member) RETURN count(m) AS members

// name: bench_organizations
// Creates organizations from $rows of {id, name, region}.
UNWIND $rows AS row
CREATE (o:Organization {id: row.id, name: row.name, name_key: toLower(row.name), kind: 'network',
                        region: row.region, topics: [], version: 1, created_at: datetime(), updated_at: datetime()})

// name: bench_members
// Creates members from $rows of {id, name, region, role, topics, organization_id}, each with its affiliation.
UNWIND $rows AS row
MATCH (o:Organization {id: row.organization_id})
CREATE (m:Member {id: row.id, name: row.name, name_key: toLower(row.name), region: row.region, role: row.role,
                  topics: row.topics, populations: [], discoverable: true, version: 1,
                  created_at: datetime(), updated_at: datetime()})
CREATE (m)-[:MEMBER_OF {role: 'member', since: null, until: null}]->(o)

// name: bench_collaborations
// Creates collaborations from $rows of {id, a, b, strength, ended_on} between members a and b.
UNWIND $rows AS row
MATCH (a:Member {id: row.a})
MATCH (b:Member {id: row.b})
CREATE (a)-[:COLLABORATES_WITH {id: row.id, kind: 'project', strength: row.strength, started_on: null,
                                ended_on: row.ended_on, source: 'bench', version: 1,
                                created_at: datetime(), updated_at: datetime()}]->(b)

// name: bench_projection_edges
// The alternative record shape: one row per active member-member tie (a, b, strength), then isolates are lost,
// so members come from a second statement in real use; kept only to time the shape.
MATCH (a:Member)-[c:COLLABORATES_WITH]->(b:Member)
WHERE (c.started_on IS NULL OR c.started_on <= $as_of) AND (c.ended_on IS NULL OR c.ended_on >= $as_of)
RETURN a.id AS a, b.id AS b, coalesce(c.strength, 3) AS strength

// name: bench_projection_party_rows
// The projection's record shape before the chunked read: one record per party, ties naming the other party by uuid
// (kept only to time the shape against the chunked one).
MATCH (party:Member)
WITH party, [(party)-[c:COLLABORATES_WITH]->(x:Member)
             WHERE (c.started_on IS NULL OR c.started_on <= $as_of)
               AND (c.ended_on IS NULL OR c.ended_on >= $as_of) | [x.id, coalesce(c.strength, 3)]] AS ties
RETURN party.id AS id, 'member' AS kind, party.region AS region, party.role AS role,
       coalesce(party.topics, []) AS topics,
       [(party)-[a:MEMBER_OF]->(o:Organization)
        WHERE (a.since IS NULL OR a.since <= $as_of) AND (a.until IS NULL OR a.until >= $as_of) | o.id] AS organizations,
       [t IN ties | t[0]] AS tie_ids, [t IN ties | t[1]] AS tie_strengths, party.cluster_id AS cluster_id
