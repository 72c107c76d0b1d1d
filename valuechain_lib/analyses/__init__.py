"""The chapter-bound analyses, one module per chapter and named after it (``chapters/<name>.md``).
"""
