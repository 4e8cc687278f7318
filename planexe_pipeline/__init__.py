"""planexe_pipeline: a one-paragraph idea in, a complete project plan out, on Luigi."""

from planexe_pipeline.defaults import load_packaged_defaults

__version__ = "0.1.0"

# Here, not in the CLI: `luigi --module planexe_pipeline.pipeline ...` imports this package
# before Luigi builds its scheduler or reads a task's settings, so the defaults apply to every
# way of starting a run.
load_packaged_defaults()
