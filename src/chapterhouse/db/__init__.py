"""Storage: engine construction, ORM models and the repository of queries."""
