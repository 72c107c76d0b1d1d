"""The claims ledger (``data/claims.csv``), the rules' Verdict objects and their one renderer."""
