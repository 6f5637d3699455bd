// Statements only the export tests use.

// name: test_bulk_members
// Creates $count members named "Member <i>" with ids "<prefix>-<i>"; returns how many.
UNWIND range(0, $count - 1) AS i
CREATE (m:Member {id: $prefix + '-' + toString(i), name: 'Member ' + toString(i), name_key: 'member ' + toString(i),
                  region: 'region-' + toString(i % 7), role: 'teacher', topics: ['literacy', 'math'],
                  populations: [], discoverable: true, version: 1, created_at: datetime(), updated_at: datetime()})
RETURN count(m) AS created

// name: test_bulk_ties
// Ties member i to members i+1 .. i+$per (modulo $count), strength 1-5, as collaborations.
UNWIND range(0, $count - 1) AS i
UNWIND range(1, $per) AS k
MATCH (a:Member {id: $prefix + '-' + toString(i)})
MATCH (b:Member {id: $prefix + '-' + toString((i + k) % $count)})
CREATE (a)-[c:COLLABORATES_WITH {id: $prefix + '-' + toString(i) + '-' + toString(k), kind: 'project',
                                 strength: 1 + (i + k) % 5, source: 'test', note: 'bulk tie number ' + toString(k),
                                 version: 1, created_at: datetime(), updated_at: datetime()}]->(b)
RETURN count(c) AS created
