// The floor of bench/recommend_latency.py: a bare common-neighbour query by the raw driver.

// name: peer_common_neighbours
// Top 10 members sharing the most collaborators with $id, not already tied to it.
MATCH (m:Member {id: $id})-[:COLLABORATES_WITH]-(f:Member)-[:COLLABORATES_WITH]-(c:Member)
WHERE c <> m AND NOT EXISTS { (m)-[:COLLABORATES_WITH]-(c) }
RETURN c.id AS id, count(DISTINCT f) AS mutual
ORDER BY mutual DESC, id
LIMIT 10

// name: peer_sample_members
// Ids of members that have at least one collaboration, for the bench to ask about.
MATCH (m:Member)
WHERE EXISTS { (m)-[:COLLABORATES_WITH]-() }
RETURN m.id AS id
LIMIT $limit
