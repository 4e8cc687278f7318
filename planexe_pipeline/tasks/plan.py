"""plan tasks."""
