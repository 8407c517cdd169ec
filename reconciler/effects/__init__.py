"""Pure effect models: live state → who can receive what, from where."""
