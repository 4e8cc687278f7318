"""documents tasks."""
