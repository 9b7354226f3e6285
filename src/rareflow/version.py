"""The package version (a leaf: the CLI and the service read it without the package root)."""

__version__ = "0.1.0"
