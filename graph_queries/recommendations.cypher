// Recommendations: candidate introductions for a member (scored here, explained in service.recommending.recommendations),
// and partner organizations.
// Every expansion is bounded ($max_neighbors collaborators, $max_candidates per source).

// name: recommend_member
// For member $id, in one statement (one round trip): no row when there is no such member; else one row
// with the graph revision, the member's cluster, topics and region, and `items`, the best $limit
// candidates of its plan ($clustered or $unclustered, chosen by whether the member has a cluster id:
// {weights: feature -> weight, bias, required, role_affinity}, `required` being a feature a candidate must
// have above 0, `role_affinity` the model's table of role pairs ("coach|teacher") for the role_pair feature).
// Candidates come from friends-of-friends (with their mutual collaborators and those collaborators'
// degrees; at most $max_neighbors collaborators expanded and $max_pairs friend-candidate ties), co-members
// of the member's organizations, members near them sharing a topic, and co-participants of small
// activities, after the exclusion rules (self, existing tie, not discoverable, already introduced or
// declined) and the filters. The exclusions are collected once per request (the member's own ties and
// introductions), so each candidate is checked against a list instead of walking its relationships again.
// `clustering` counts the cluster-id write-backs (with the revision, it says which cluster assignment the
// answer saw). The features are service/recommending/ranking.py's FEATURES, computed as ranking.Neighbourhoods.features
// computes them for training (tests/service/test_ranking.py holds the two to the same numbers).
MATCH (m:Member {id: $id})
OPTIONAL MATCH (counter:Counter {name: 'changes'})
OPTIONAL MATCH (generation:Counter {name: 'clusters'})
OPTIONAL MATCH (roles:Vocabulary {name: 'member_role'})
WITH m, coalesce(counter.value, 0) AS revision, coalesce(generation.value, 0) AS clustering,
     coalesce(roles.version, 0) AS wording,
     CASE WHEN m.cluster_id IS NULL THEN $unclustered ELSE $clustered END AS plan,
     m {.cluster_id, .region, .role, topics: coalesce(m.topics, [])} AS me
CALL (m) {
    OPTIONAL MATCH (m)-[:COLLABORATES_WITH]-(tied:Member)
    RETURN collect(DISTINCT tied) AS tied
}
CALL (m) {
    OPTIONAL MATCH (m)<-[:INTRODUCES]-(:Introduction)-[:INTRODUCES]->(introduced:Member)
    RETURN collect(DISTINCT introduced) AS introduced
}
// The member's organizations; when they hold at most $max_organization_members members together, with those
// members, so a candidate's shared organizations are looked up in these lists. Otherwise each candidate's
// affiliations are walked: a node with fewer than 50 relationships keeps them in one chain, so finding a
// candidate's MEMBER_OF among its COLLABORATES_WITH cost about 30 database hits, most of a request's
// (PROFILE of this statement on bench/analytics.py's network).
CALL (m) {
    OPTIONAL MATCH (m)-[:MEMBER_OF]->(o:Organization)
    WITH DISTINCT o
    WITH collect(o) AS organizations, sum(COUNT { (o)<-[:MEMBER_OF]-() }) AS mates
    RETURN organizations,
           CASE WHEN mates <= $max_organization_members
                THEN [o IN organizations | {id: o.id, name: o.name,
                                            members: COLLECT { MATCH (o)<-[:MEMBER_OF]-(x:Member) RETURN x }}]
           END AS organization_members
}
// The member's activities of at most $activity_size_cap participants, with their participants: read once,
// so a candidate's shared activities are looked up here instead of walking the candidate's relationships.
CALL (m) {
    MATCH (m)-[:PARTICIPATED_IN]->(a:Activity)
    WHERE COUNT { (:Member)-[:PARTICIPATED_IN]->(a) } <= $activity_size_cap
    WITH a, COLLECT { MATCH (a)<-[:PARTICIPATED_IN]-(p:Member) RETURN DISTINCT p } AS participants
    RETURN collect({id: a.id, name: a.name, size: size(participants), participants: participants}) AS gatherings
}
CALL (m, me, plan, tied, introduced, organizations, organization_members, gatherings) {
    CALL (m, gatherings) {
        // Each collaborator with the summed strength of the member's ties to it and their highest trust.
        MATCH (m)-[mine:COLLABORATES_WITH]-(f:Member)
        WITH f, sum(coalesce(mine.strength, 3)) AS near_strength, max(mine.trust) AS near_trust
        LIMIT $max_neighbors
        // A member's distinct collaborators: as the analytics last wrote them back (collaborator_count),
        // else counted here.
        WITH f, near_strength, near_trust, CASE WHEN f.collaborator_count IS NULL
                     THEN COUNT { MATCH (f)-[:COLLABORATES_WITH]-(x:Member) RETURN DISTINCT x }
                     ELSE f.collaborator_count END AS degree
        MATCH (f)-[theirs:COLLABORATES_WITH]-(c:Member)
        WITH f, near_strength, near_trust, degree, c, theirs LIMIT $max_pairs
        WITH f, near_strength, near_trust, degree, c, sum(coalesce(theirs.strength, 3)) AS far_strength,
             max(theirs.trust) AS far_trust
        // Per mutual collaborator, the two-step path's weaker strength and lower trust (null unless both rated).
        RETURN c, collect({id: f.id, name: f.name, degree: degree,
                           strength: CASE WHEN far_strength < near_strength THEN far_strength ELSE near_strength END,
                           trust: CASE WHEN near_trust IS NULL OR far_trust IS NULL THEN null
                                       WHEN far_trust < near_trust THEN far_trust ELSE near_trust END}) AS mutuals
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
        UNWIND gatherings AS gathering
        UNWIND gathering.participants AS c
        WITH DISTINCT c LIMIT $max_candidates
        RETURN c, [] AS mutuals
    }
    WITH m, me, plan, tied, organizations, organization_members, gatherings, c, mutuals
    WHERE c <> m
      AND NOT c IN tied
      AND NOT c IN introduced
      AND ($organization_id IS NULL OR EXISTS { (c)-[:MEMBER_OF]->(:Organization {id: $organization_id}) })
      AND ($exclude_organization_id IS NULL
           OR NOT EXISTS { (c)-[:MEMBER_OF]->(:Organization {id: $exclude_organization_id}) })
    WITH m, me, plan, size(tied) AS member_degree, organizations, organization_members, gatherings, c,
         coalesce([x IN collect(mutuals) WHERE size(x) > 0][0], []) AS mutuals
    // A candidate's properties read in one pass: read one by one, each walks the node's property chain
    // from its start. Read singly, the same statement took 12% more Neo4j CPU on bench/analytics.py's
    // network (350 members' answers, timed alternately five times each way).
    WITH m, me, plan, member_degree, organizations, organization_members, gatherings, c, mutuals, properties(c) AS cp
    WHERE coalesce(cp.discoverable, true) AND ($region IS NULL OR cp.region = $region)
      AND ($role IS NULL OR cp.role = $role)
    // The features and the plan's weighted score, so only the best $limit rows leave the database. The
    // candidate's properties come from `cp`, the member's from `me`. Co-participation counts activities
    // of at most $activity_size_cap participants, 1/(n-1) per shared one.
    WITH me, plan, member_degree, c, cp, mutuals, cp.cluster_id AS cluster, coalesce(cp.topics, []) AS candidate_topics,
         [x IN gatherings WHERE c IN x.participants | {id: x.id, name: x.name, size: x.size}] AS activities,
         CASE WHEN size(organizations) = 0 THEN []
              WHEN organization_members IS NOT NULL
                THEN [x IN organization_members WHERE c IN x.members | {id: x.id, name: x.name}]
              ELSE [(c)-[:MEMBER_OF]->(o:Organization) WHERE o IN organizations | {id: o.id, name: o.name}]
         END AS shared_organizations,
         CASE WHEN cp.collaborator_count IS NULL
              THEN COUNT { MATCH (c)-[:COLLABORATES_WITH]-(x:Member) RETURN DISTINCT x }
              ELSE cp.collaborator_count END AS candidate_degree
    WITH me, plan, c, cp, mutuals, cluster, activities, shared_organizations, candidate_degree,
         size(candidate_topics) AS candidate_topic_count, size(mutuals) AS common,
         member_degree + candidate_degree - size(mutuals) AS either,
         reduce(s = 0.0, x IN activities | s + 1.0 / (x.size - 1)) AS co_participation,
         reduce(s = 0.0, x IN mutuals | s + CASE WHEN x.degree > 1 THEN 1.0 / log(x.degree) ELSE 0.0 END)
           AS adamic_adar,
         reduce(s = 0.0, x IN mutuals | s + CASE WHEN x.degree > 0 THEN 1.0 / x.degree ELSE 0.0 END)
           AS resource_allocation,
         size([t IN candidate_topics WHERE t IN me.topics]) AS shared
    WITH c, cp, mutuals, activities, shared_organizations, plan, {
           common_neighbours: toFloat(common),
           adamic_adar: adamic_adar,
           resource_allocation: resource_allocation,
           jaccard: CASE WHEN either > 0 THEN toFloat(common) / either ELSE 0.0 END,
           topics: CASE WHEN size(me.topics) + candidate_topic_count - shared = 0 THEN 0.0
                        ELSE toFloat(shared) / (size(me.topics) + candidate_topic_count - shared) END,
           shared_organizations: toFloat(size(shared_organizations)),
           region: CASE WHEN me.region IS NOT NULL AND cp.region = me.region THEN 1.0 ELSE 0.0 END,
           same_role: CASE WHEN me.role IS NOT NULL AND cp.role = me.role THEN 1.0 ELSE 0.0 END,
           role_pair: CASE WHEN me.role IS NULL OR cp.role IS NULL THEN 0.0
                           WHEN me.role <= cp.role THEN coalesce(plan.role_affinity[me.role + '|' + cp.role], 0.0)
                           ELSE coalesce(plan.role_affinity[cp.role + '|' + me.role], 0.0) END,
           bridging: CASE WHEN me.cluster_id IS NOT NULL AND cluster IS NOT NULL AND cluster <> me.cluster_id
                          THEN 1.0 ELSE 0.0 END,
           candidate_degree: log(1.0 + candidate_degree),
           candidate_coreness: log(1.0 + coalesce(cp.coreness, 0)),
           activities: co_participation,
           path_strength: CASE WHEN common = 0 THEN 0.0
                               ELSE reduce(s = 0.0, x IN mutuals | s + x.strength) / common END,
           trust_path: reduce(best = 0.0, x IN mutuals | CASE WHEN x.trust IS NOT NULL AND x.trust / 5.0 > best
                                                          THEN x.trust / 5.0 ELSE best END)
         } AS features
    WHERE plan.required IS NULL OR features[plan.required] > 0
    WITH c, cp, mutuals, activities, shared_organizations, features,
         reduce(s = plan.bias, k IN keys(plan.weights) | s + plan.weights[k] * coalesce(features[k], 0.0)) AS score
    ORDER BY score DESC, cp.id
    LIMIT $limit
    RETURN collect({
        // role_label: the member_role vocabulary's label, for the reasons' sentences (not part of the answer)
        candidate: cp {.id, .name, .role, .title, .region, .topics, .populations, .cluster_id,
                       role_label: head(COLLECT { MATCH (t:VocabularyTerm {key: 'member_role:' + cp.role})
                                                  RETURN t.label })},
        mutuals: mutuals, features: features, score: score,
        activities: [x IN activities | {id: x.id, name: x.name}][..3], activity_count: size(activities),
        organizations: shared_organizations[..3]
    }) AS items
}
RETURN revision, clustering, wording, me.cluster_id AS member_cluster, me.topics AS member_topics, me.region AS member_region,
       me.role AS member_role,
       head(COLLECT { MATCH (t:VocabularyTerm {key: 'member_role:' + me.role}) RETURN t.label }) AS member_role_label,
       items

// name: recommend_revision
// The graph revision, the count of cluster-id write-backs and the member_role vocabulary's version (its labels
// word the reasons): what a kept recommendation answer is checked against (service/repositories/recommendations.py).
OPTIONAL MATCH (counter:Counter {name: 'changes'})
OPTIONAL MATCH (generation:Counter {name: 'clusters'})
OPTIONAL MATCH (roles:Vocabulary {name: 'member_role'})
RETURN coalesce(counter.value, 0) AS revision, coalesce(generation.value, 0) AS clustering,
       coalesce(roles.version, 0) AS wording

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
