"""Fixtures and recorded responses the tests read (a package only so that `recorded` imports by name)."""
