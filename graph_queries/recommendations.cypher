// Recommendations: candidate introductions for a member, scored in Python from these features.
// Every expansion is bounded ($max_neighbors collaborators, $max_candidates per source).

// name: recommend_member_candidates
// For member $id: the best $limit candidates for a strategy ($weights, and $required: the feature a
// candidate must have) from friends-of-friends (with their mutual collaborators and those collaborators'
// degrees), co-members of the member's organizations and members near them sharing a topic, after the
// exclusion rules (self, existing tie, not discoverable, already introduced or declined) and the filters.
MATCH (m:Member {id: $id})
CALL (m) {
    MATCH (m)-[:COLLABORATES_WITH]-(f:Member)
    WITH DISTINCT f LIMIT $max_neighbors
    WITH f, COUNT { (f)-[:COLLABORATES_WITH]-(:Member) } AS degree
    MATCH (f)-[:COLLABORATES_WITH]-(c:Member)
    WITH DISTINCT f, degree, c LIMIT $max_candidates
    RETURN c, collect({id: f.id, name: f.name, degree: degree}) AS mutuals
    UNION
    MATCH (m)-[:MEMBER_OF]->(:Organization)<-[:MEMBER_OF]-(c:Member)
    WITH DISTINCT c LIMIT $max_candidates
    RETURN c, [] AS mutuals
    UNION
    MATCH (m)-[:COLLABORATES_WITH]-(:Member)-[:COLLABORATES_WITH]-(:Member)-[:COLLABORATES_WITH]-(c:Member)
    WHERE any(topic IN c.topics WHERE topic IN m.topics)
    WITH DISTINCT c LIMIT $max_candidates
    RETURN c, [] AS mutuals
}
WITH m, c, mutuals
WHERE c <> m
  AND coalesce(c.discoverable, true)
  AND NOT EXISTS { (m)-[:COLLABORATES_WITH]-(c) }
  AND NOT EXISTS { (m)<-[:INTRODUCES]-(:Introduction)-[:INTRODUCES]->(c) }
  AND ($region IS NULL OR c.region = $region)
  AND ($role IS NULL OR c.role = $role)
  AND ($organization_id IS NULL OR EXISTS { (c)-[:MEMBER_OF]->(:Organization {id: $organization_id}) })
  AND ($exclude_organization_id IS NULL
       OR NOT EXISTS { (c)-[:MEMBER_OF]->(:Organization {id: $exclude_organization_id}) })
WITH m, c, coalesce([x IN collect(mutuals) WHERE size(x) > 0][0], []) AS mutuals
// The features (Adamic-Adar over mutual collaborators, topic Jaccard, bridging, region) and the
// strategy's weighted score, so only the best $limit rows leave the database.
WITH m, c, mutuals,
     reduce(s = 0.0, x IN mutuals | s + CASE WHEN x.degree > 1 THEN 1.0 / log(x.degree) ELSE 0.0 END) AS adamic_adar,
     size([t IN coalesce(c.topics, []) WHERE t IN coalesce(m.topics, [])]) AS shared
WITH m, c, mutuals, adamic_adar,
     CASE WHEN size(coalesce(m.topics, [])) + size(coalesce(c.topics, [])) - shared = 0 THEN 0.0
          ELSE toFloat(shared) / (size(coalesce(m.topics, [])) + size(coalesce(c.topics, [])) - shared) END AS topics,
     CASE WHEN m.cluster_id IS NOT NULL AND c.cluster_id IS NOT NULL AND c.cluster_id <> m.cluster_id
          THEN 1.0 ELSE 0.0 END AS bridging,
     CASE WHEN m.region IS NOT NULL AND c.region = m.region THEN 1.0 ELSE 0.0 END AS region
WHERE $required IS NULL
   OR ($required = 'adamic_adar' AND adamic_adar > 0)
   OR ($required = 'topics' AND topics > 0)
   OR ($required = 'bridging' AND bridging > 0)
WITH m, c, mutuals, {adamic_adar: adamic_adar, topics: topics, bridging: bridging, region: region} AS features,
     $weights.adamic_adar * adamic_adar + $weights.topics * topics + $weights.bridging * bridging
     + $weights.region * region AS score
ORDER BY score DESC, c.id
LIMIT $limit
RETURN c {.id, .name, .role, .title, .region, .topics, .populations, .cluster_id} AS candidate,
       mutuals, features, score,
       m.topics AS member_topics, m.region AS member_region, m.cluster_id AS member_cluster

// name: recommend_member_exists
// The member (with its discoverable flag), or no row.
MATCH (m:Member {id: $id})
RETURN m.id AS id, m.cluster_id AS cluster_id

// name: recommend_clusters_tied
// Which of the pairs $pairs ([cluster a, cluster b]) already have a tie between their members.
UNWIND $pairs AS pair
RETURN pair, EXISTS {
    MATCH (a:Member {cluster_id: pair[0]})-[:COLLABORATES_WITH]-(b:Member {cluster_id: pair[1]})
} AS tied

// name: recommend_organization_candidates
// For organization $id: other organizations tied to it through their members' collaborations (with up to
// three of those member pairs) or sharing a topic, minus existing partners. One row per candidate.
MATCH (o:Organization {id: $id})
CALL (o) {
    MATCH (o)<-[:MEMBER_OF]-(m:Member)-[:COLLABORATES_WITH]-(x:Member)-[:MEMBER_OF]->(p:Organization)
    WHERE p <> o
    WITH p, m, x LIMIT $max_paths
    RETURN p, count(*) AS ties,
           collect({member_id: m.id, member_name: m.name, partner_id: x.id, partner_name: x.name})[..3] AS bridges
    UNION
    MATCH (p:Organization)
    WHERE p <> o AND any(topic IN p.topics WHERE topic IN o.topics)
    WITH p LIMIT $max_candidates
    RETURN p, 0 AS ties, [] AS bridges
}
WITH o, p, sum(ties) AS ties, [b IN collect(bridges) WHERE size(b) > 0] AS found
WHERE NOT EXISTS { (o)-[:COLLABORATES_WITH]-(p) }
RETURN p {.id, .name, .kind, .region, .topics} AS organization, ties, coalesce(found[0], []) AS bridges,
       o.topics AS topics, o.region AS region
