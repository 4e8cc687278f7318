"""experts tasks."""
