"""netregistry: the membership registry of international city networks."""

__version__ = "0.1.0"
