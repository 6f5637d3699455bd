"""Member recommendations: the hand-set weights and plain-word reasons (recommendations.py) and the
learned ranking trained per network (ranking.py). Their Neo4j reads are in service/repositories."""
