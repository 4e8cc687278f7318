"""report tasks."""
