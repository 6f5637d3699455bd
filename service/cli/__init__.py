"""The command line (`netweave`): serve, worker, seed, import, keys, analytics, openapi, and a local Neo4j
for development. Its entry point is service.cli.main:main."""
