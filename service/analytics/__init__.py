"""The analytics engine: a projection of the network read from Neo4j, igraph algorithms over it, and the
caching that keeps repeated answers cheap. The algorithm modules are pure functions of a `Projection`."""
