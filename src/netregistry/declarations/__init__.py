"""Declared figures: what a network states about itself on a date, with its source."""
