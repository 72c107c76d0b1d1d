"""The committed snapshot: built from the raw sources (`build`), checked and read (`store`), and the
tables the book reads from it (`financials`, `prices`, `universe`, `facts`, `vintage`, `reported_after`).
"""
