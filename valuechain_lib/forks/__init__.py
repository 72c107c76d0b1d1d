"""Rules of forks' claims: one module per scaffolded chapter (``valuechain_lib/forks/<chapter>.py``).

``python -m valuechain_lib new-chapter`` writes a starter rule here; the claim's row in
``data/claims.csv`` names it as ``valuechain_lib.forks.<chapter>:verdict_x1``. Fork claim ids start
with ``X`` (`valuechain_lib.claims.ledger.FORK_PREFIX`), so they never collide with the book's own.
"""
