"""governance tasks."""
