"""planexe-pipeline bench: the standard workload on the offline simulator, at several worker counts
(workload.py), against a provider that pushes back (provider.py), and how well `status` foresees
the end of a run (status_check.py). Numbers come from each run's telemetry."""
