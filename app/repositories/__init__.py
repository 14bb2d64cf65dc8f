"""Repositories: the only code that builds SQL."""
