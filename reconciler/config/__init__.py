"""Policy loading: YAML files -> documents with source positions -> validated Policy."""
