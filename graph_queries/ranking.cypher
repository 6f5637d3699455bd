// The learned ranking of member recommendations (service/recommending/ranking.py): its models and its feedback.

// name: ranking_model_current
// The newest ranking model (no row when none was trained): version, the revision it was trained at,
// trained_at, the feature names and their weights (parallel lists), bias, its training figures (JSON) and
// its role affinities (role pairs and values, parallel lists).
MATCH (model:RankingModel)
RETURN model.version AS version, model.revision AS revision, toString(model.trained_at) AS trained_at,
       model.names AS names, model.weights AS weights, model.bias AS bias, model.figures AS figures,
       model.role_pairs AS role_pairs, model.role_affinities AS role_affinities
ORDER BY model.version DESC
LIMIT 1

// name: ranking_model_list
// The stored ranking models, newest first (at most $limit).
MATCH (model:RankingModel)
RETURN model.version AS version, model.revision AS revision, toString(model.trained_at) AS trained_at,
       model.names AS names, model.weights AS weights, model.bias AS bias, model.figures AS figures,
       model.role_pairs AS role_pairs, model.role_affinities AS role_affinities
ORDER BY model.version DESC
LIMIT $limit

// name: ranking_model_save
// Stores a new model under the next version (the `ranking_models` counter, which survives the models)
// and keeps only the newest $keep. Returns its version.
MERGE (counter:Counter {name: 'ranking_models'})
  ON CREATE SET counter.value = 0
SET counter.value = counter.value + 1
CREATE (model:RankingModel {version: counter.value, revision: $revision, trained_at: datetime(),
                            names: $names, weights: $weights, bias: $bias, figures: $figures,
                            role_pairs: $role_pairs, role_affinities: $role_affinities})
WITH model
CALL (model) {
    MATCH (old:RankingModel)
    WITH old ORDER BY old.version DESC
    SKIP $keep
    DETACH DELETE old
}
RETURN model.version AS version, toString(model.trained_at) AS trained_at

// name: ranking_feedback
// Introductions that were answered (accepted or declined), at most $limit, newest first: their two
// members' ids, whether accepted, and their age in days.
MATCH (i:Introduction)
WHERE i.status IN ['accepted', 'declined']
WITH i ORDER BY i.updated_at DESC LIMIT $limit
MATCH (i)-[:INTRODUCES]->(m:Member)
WITH i, collect(m.id) AS members
WHERE size(members) = 2
RETURN members, i.status = 'accepted' AS accepted,
       duration.inSeconds(i.updated_at, datetime()).seconds / 86400.0 AS age_days

// name: ranking_tie_trust
// Each pair of members tied by a collaboration active on $as_of with a trust rating (from check-ins): the
// highest rating on their ties, each pair once (a < b). What training's trust_path feature reads.
MATCH (x:Member)-[c:COLLABORATES_WITH]-(y:Member)
WHERE x.id < y.id AND c.trust IS NOT NULL
  AND (c.started_on IS NULL OR c.started_on <= $as_of)
  AND (c.ended_on IS NULL OR c.ended_on >= $as_of)
RETURN x.id AS a, y.id AS b, max(c.trust) AS trust
