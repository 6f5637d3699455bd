// API keys: only the SHA-256 of a secret is stored.

// name: api_key_by_hash
// The key with this hash (revoked ones included, so the caller can say why it fails).
MATCH (k:ApiKey {hash: $hash})
RETURN k.id AS id, k.name AS name, k.scopes AS scopes, k.hash AS hash, k.revoked_at AS revoked_at

// name: api_key_create
// Stores a new key and returns its public fields.
CREATE (k:ApiKey {id: $id, name: $name, scopes: $scopes, hash: $hash, created_at: datetime()})
RETURN k {.id, .name, .scopes, .created_at, .revoked_at} AS key

// name: api_key_seed
// Makes the start-up admin key current: same id, the hash of the configured secret, not revoked.
MERGE (k:ApiKey {id: $id})
ON CREATE SET k.created_at = datetime()
SET k.name = $name, k.hash = $hash, k.scopes = $scopes, k.revoked_at = null

// name: api_key_list
// One page of keys ordered by (created_at, id).
MATCH (k:ApiKey)
WHERE $after IS NULL OR k.created_at > datetime($after[0])
      OR (k.created_at = datetime($after[0]) AND k.id > $after[1])
WITH k ORDER BY k.created_at, k.id LIMIT $limit
RETURN k {.id, .name, .scopes, .created_at, .revoked_at} AS item, [toString(k.created_at), k.id] AS sort_key

// name: api_key_revoke
// Marks the key revoked (kept for the record); no row when there is no such key.
MATCH (k:ApiKey {id: $id})
SET k.revoked_at = coalesce(k.revoked_at, datetime())
RETURN k.id AS id
