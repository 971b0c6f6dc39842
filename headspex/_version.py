"""The version of headspex (``pyproject.toml`` says the same; a test checks)."""

__version__ = "0.3.0"
