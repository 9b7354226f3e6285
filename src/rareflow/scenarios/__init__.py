"""Scenarios: YAML files validated with pydantic, and the bundled library."""
