"""wbs tasks."""
