"""planexe_pipeline: a one-paragraph idea in, a complete project plan out, on Luigi."""

__version__ = "0.1.0"
