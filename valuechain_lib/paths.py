"""Where the committed snapshot and the packaged mapping files live."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
MAPPINGS_DIR = PACKAGE_DIR / "mappings"
#: The repository (a clone) the package sits in.
REPO_ROOT = PACKAGE_DIR.parent

# The repository's data/ folder; VALUECHAIN_DATA points elsewhere (e.g. a test's tmp dir).
DEFAULT_DATA_DIR = REPO_ROOT / "data"


def data_dir() -> Path:
    """Return the snapshot folder: ``$VALUECHAIN_DATA`` if set, else the repository's ``data/``."""
    return Path(os.environ.get("VALUECHAIN_DATA", DEFAULT_DATA_DIR))


def raw_data_dir() -> Path:
    """Return the raw public files (``../shared/data`` beside the repository unless ``$VALUECHAIN_RAW``)."""
    return Path(os.environ.get("VALUECHAIN_RAW", REPO_ROOT.parent / "shared" / "data"))
