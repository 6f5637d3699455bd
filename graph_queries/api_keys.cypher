// API keys: only the SHA-256 of a secret is stored.

// name: api_key_by_hash
// The key with this hash (revoked ones included, so the caller can say why it fails). Whether it has
// expired is checked by the caller at each use (service.web.auth caches live keys for a few seconds).
MATCH (k:ApiKey {hash: $hash})
RETURN k.id AS id, k.name AS name, k.scopes AS scopes, k.hash AS hash, k.revoked_at AS revoked_at,
       k.expires_at AS expires_at

// name: api_key_create
// Stores a new key and returns its public fields.
CREATE (k:ApiKey {id: $id, name: $name, scopes: $scopes, hash: $hash, created_at: datetime(),
                  expires_at: $expires_at})
RETURN k {.id, .name, .scopes, .created_at, .revoked_at, .expires_at, .successor_id} AS key

// name: api_key_seed
// Makes the start-up admin key current: same id, the hash of the configured secret, not revoked.
MERGE (k:ApiKey {id: $id})
ON CREATE SET k.created_at = datetime()
SET k.name = $name, k.hash = $hash, k.scopes = $scopes, k.revoked_at = null, k.expires_at = null,
    k.successor_id = null

// name: api_key_list
// One page of keys ordered by (created_at, id).
MATCH (k:ApiKey)
WHERE $after IS NULL OR k.created_at > datetime($after[0])
      OR (k.created_at = datetime($after[0]) AND k.id > $after[1])
WITH k ORDER BY k.created_at, k.id LIMIT $limit
RETURN k {.id, .name, .scopes, .created_at, .revoked_at, .expires_at, .successor_id} AS item,
       [toString(k.created_at), k.id] AS sort_key

// name: api_key_revoke
// Marks the key revoked (kept for the record); no row when there is no such key.
MATCH (k:ApiKey {id: $id})
SET k.revoked_at = coalesce(k.revoked_at, datetime())
RETURN k.id AS id

// name: api_key_rotate
// Creates the successor of a live key (same name and scopes) and makes the old one expire after the
// grace period (or sooner, if it already expires sooner). No row when there is no such key; `state`
// says why nothing was rotated: revoked, expired, or already rotated.
MATCH (old:ApiKey {id: $id})
WITH old, CASE
    WHEN old.revoked_at IS NOT NULL THEN 'revoked'
    WHEN old.expires_at IS NOT NULL AND old.expires_at <= datetime() THEN 'expired'
    WHEN old.successor_id IS NOT NULL THEN 'rotated'
    ELSE 'live' END AS state
CALL (old, state) {
    WITH old WHERE state = 'live'
    CREATE (new:ApiKey {id: $new_id, name: old.name, scopes: old.scopes, hash: $hash, created_at: datetime(),
                        expires_at: null})
    WITH old, new, datetime() + duration({seconds: $grace_seconds}) AS grace_end
    SET old.successor_id = new.id,
        old.expires_at = CASE WHEN old.expires_at IS NULL OR old.expires_at > grace_end THEN grace_end
                              ELSE old.expires_at END
    RETURN new {.id, .name, .scopes, .created_at, .revoked_at, .expires_at, .successor_id} AS key,
           old {.id, .name, .scopes, .created_at, .revoked_at, .expires_at, .successor_id} AS previous
  UNION
    WITH old WHERE state <> 'live'
    RETURN null AS key, null AS previous
}
RETURN state, key, previous

// name: bookmark_key
// The key that seals the X-Neo4j-Bookmark values this database's API hands out (service/web/bookmarks.py):
// made once from $candidate, then the same for every API process.
MERGE (k:Instance {name: 'netweave-bookmarks'})
ON CREATE SET k.secret = $candidate
RETURN k.secret AS secret

// name: bookmark_reached
// Nothing: the transaction it runs in starts only once the database has reached the client's bookmark.
RETURN 1 AS reached
