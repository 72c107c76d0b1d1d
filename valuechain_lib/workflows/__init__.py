"""Multi-step workflows over the whole project: a live refresh and a scheduled edition.
"""
