// Layout: what the explorer and the network pictures label members with.

// name: layout_member_names
// id and name of each member in $ids that exists (no personal data beyond the name).
UNWIND $ids AS member_id
MATCH (m:Member {id: member_id})
RETURN m.id AS id, m.name AS name
