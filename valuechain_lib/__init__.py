"""valuechain_lib: SEC filings and share prices to a cited, calendar-aligned snapshot for the AI value-chain book.

The public API the chapters use:

- `financials` — tidy statement figures by quarter, fiscal year or TTM, fiscal and calendar labels;
- `prices` — daily split-adjusted close and total-return index per ticker;
- `universe` — companies, layers, fiscal-year ends and currencies (``data/universe.csv``);
- `metrics` — pure metric functions (``get_*``) and `compute`;
- `aggregate` — calendar-aligned sums and the profit pool by layer.
"""

__version__ = "0.1.0"

from . import aggregate, facts, metrics, vintage
from .aggregate import calendar_sum, profit_pool
from .errors import (
    CurrencyError,
    FilingConflictError,
    PeriodError,
    SignConventionError,
    SnapshotError,
    SourceFileError,
    UnknownMetricError,
    UnknownTickerError,
    ValueChainError,
)
from .financials import financials, series
from .metrics import compute
from .prices import prices
from .snapshot import load_table, manifest
from .universe import universe

__all__ = [
    "CurrencyError", "FilingConflictError", "PeriodError", "SignConventionError", "SnapshotError",
    "SourceFileError", "UnknownMetricError", "UnknownTickerError", "ValueChainError",
    "aggregate", "calendar_sum", "compute", "facts", "financials", "load_table", "manifest", "metrics", "prices",
    "profit_pool", "series", "universe", "vintage",
]
