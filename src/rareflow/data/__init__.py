"""The dataset: declared schemas, loading, validation, provenance."""
