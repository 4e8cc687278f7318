"""team tasks."""
