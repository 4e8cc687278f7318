"""synthesis tasks."""
