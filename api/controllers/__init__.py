"""HTTP only: one module per content type, each a thin declaration over the pipeline."""
