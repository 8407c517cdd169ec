"""GitHub integration: REST client, sticky pull-request comments and drift issues."""
