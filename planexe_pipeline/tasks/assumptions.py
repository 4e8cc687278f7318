"""assumptions tasks."""
