"""What turns analyses into the book: the chart helper, vendored Vega, page helpers, the build, the audit, the scaffold.
"""
