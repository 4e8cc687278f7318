"""context tasks."""
