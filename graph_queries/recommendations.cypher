// Recommendations: candidate introductions for a member (scored here, explained in service.recommendations),
// and partner organizations.
// Every expansion is bounded ($max_neighbors collaborators, $max_candidates per source).

// name: recommend_member
// For member $id, in one statement (one round trip): no row when there is no such member; else one row
// with the graph revision, the member's cluster, topics and region, and `items`, the best $limit
// candidates of its plan ($clustered or $unclustered, chosen by whether the member has a cluster id:
// {weights, required}, `required` being the feature a candidate must have). Candidates come from
// friends-of-friends (with their mutual collaborators and those collaborators' degrees), co-members of
// the member's organizations and members near them sharing a topic, after the exclusion rules (self,
// existing tie, not discoverable, already introduced or declined) and the filters. The exclusions are
// collected once per request (the member's own ties and introductions), so each candidate is checked
// against a list instead of walking its relationships again. `clustering` counts the cluster-id
// write-backs (with the revision, it says which cluster assignment the answer saw).
MATCH (m:Member {id: $id})
OPTIONAL MATCH (counter:Counter {name: 'changes'})
OPTIONAL MATCH (generation:Counter {name: 'clusters'})
WITH m, coalesce(counter.value, 0) AS revision, coalesce(generation.value, 0) AS clustering,
     CASE WHEN m.cluster_id IS NULL THEN $unclustered ELSE $clustered END AS plan,
     m {.cluster_id, .region, topics: coalesce(m.topics, [])} AS me
CALL (m) {
    OPTIONAL MATCH (m)-[:COLLABORATES_WITH]-(tied:Member)
    RETURN collect(DISTINCT tied) AS tied
}
CALL (m) {
    OPTIONAL MATCH (m)<-[:INTRODUCES]-(:Introduction)-[:INTRODUCES]->(introduced:Member)
    RETURN collect(DISTINCT introduced) AS introduced
}
CALL (m, me, plan, tied, introduced) {
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
        UNION
        MATCH (m)-[:PARTICIPATED_IN]->(a:Activity)<-[:PARTICIPATED_IN]-(c:Member)
        WHERE COUNT { (:Member)-[:PARTICIPATED_IN]->(a) } <= $activity_size_cap
        WITH DISTINCT c LIMIT $max_candidates
        RETURN c, [] AS mutuals
    }
    WITH m, me, plan, c, mutuals
    WHERE c <> m
      AND NOT c IN tied
      AND NOT c IN introduced
      AND coalesce(c.discoverable, true)
      AND ($region IS NULL OR c.region = $region)
      AND ($role IS NULL OR c.role = $role)
      AND ($organization_id IS NULL OR EXISTS { (c)-[:MEMBER_OF]->(:Organization {id: $organization_id}) })
      AND ($exclude_organization_id IS NULL
           OR NOT EXISTS { (c)-[:MEMBER_OF]->(:Organization {id: $exclude_organization_id}) })
    WITH m, me, plan, c, coalesce([x IN collect(mutuals) WHERE size(x) > 0][0], []) AS mutuals
    // The features (Adamic-Adar over mutual collaborators, topic Jaccard, bridging, region, co-participation
    // in activities of at most $activity_size_cap: 1/(n-1) per shared one) and the plan's weighted score, so
    // only the best $limit rows leave the database. Each property of a candidate is read once (the member's
    // are in `me`).
    WITH me, plan, c, mutuals, c.cluster_id AS cluster, coalesce(c.topics, []) AS candidate_topics,
         [x IN [(m)-[:PARTICIPATED_IN]->(a:Activity)<-[:PARTICIPATED_IN]-(c)
                | {id: a.id, name: a.name, size: COUNT { (:Member)-[:PARTICIPATED_IN]->(a) }}]
          WHERE x.size <= $activity_size_cap] AS activities
    WITH me, plan, c, mutuals, cluster, activities, size(candidate_topics) AS candidate_topic_count,
         reduce(s = 0.0, x IN activities | s + 1.0 / (x.size - 1)) AS co_participation,
         reduce(s = 0.0, x IN mutuals | s + CASE WHEN x.degree > 1 THEN 1.0 / log(x.degree) ELSE 0.0 END)
           AS adamic_adar,
         size([t IN candidate_topics WHERE t IN me.topics]) AS shared
    WITH me, plan, c, mutuals, cluster, activities, co_participation, adamic_adar,
         CASE WHEN size(me.topics) + candidate_topic_count - shared = 0 THEN 0.0
              ELSE toFloat(shared) / (size(me.topics) + candidate_topic_count - shared)
         END AS topics,
         CASE WHEN me.cluster_id IS NOT NULL AND cluster IS NOT NULL AND cluster <> me.cluster_id
              THEN 1.0 ELSE 0.0 END AS bridging,
         CASE WHEN me.region IS NOT NULL AND c.region = me.region THEN 1.0 ELSE 0.0 END AS region
    WHERE plan.required IS NULL
       OR (plan.required = 'adamic_adar' AND adamic_adar > 0)
       OR (plan.required = 'topics' AND topics > 0)
       OR (plan.required = 'bridging' AND bridging > 0)
    WITH c, mutuals, activities,
         {adamic_adar: adamic_adar, topics: topics, bridging: bridging, region: region,
          activities: co_participation} AS features,
         plan.weights.adamic_adar * adamic_adar + plan.weights.topics * topics
         + plan.weights.bridging * bridging + plan.weights.region * region
         + coalesce(plan.weights.activities, 0.0) * co_participation AS score
    ORDER BY score DESC, c.id
    LIMIT $limit
    RETURN collect({
        candidate: c {.id, .name, .role, .title, .region, .topics, .populations, .cluster_id},
        mutuals: mutuals, features: features, score: score,
        activities: [x IN activities | {id: x.id, name: x.name}][..3], activity_count: size(activities)
    }) AS items
}
RETURN revision, clustering, me.cluster_id AS member_cluster, me.topics AS member_topics, me.region AS member_region, items

// name: recommend_clusters_tied
// Which of the pairs $pairs ([cluster a, cluster b]) already have a tie between their members. Costly
// (a walk over a cluster's ties when there is none), so service.repositories.recommendations keeps
// the answers per revision and cluster assignment.
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
