"""Recorded SEC and price responses, and the helpers that serve them to the clients under test."""
