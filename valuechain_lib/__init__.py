"""valuechain_lib: SEC filings and share prices to a cited, calendar-aligned snapshot for the AI value-chain book.

The public API the chapters use:

- `financials` — tidy statement figures by quarter, fiscal year or TTM, fiscal and calendar labels;
- `prices` — daily split-adjusted close and total-return index per ticker;
- `universe` — companies, layers, fiscal-year ends and currencies (``data/universe.csv``); `members` —
  the tickers of a layer or sub-layer (the book's company groups), in universe order;
- `metrics` — pure metric functions (``get_*``) and `compute`;
- `aggregate` — calendar-aligned sums and the profit pool by layer.
"""

from valuechain_lib._version import __version__
from valuechain_lib.calc import aggregate, metrics
from valuechain_lib.calc.aggregate import calendar_sum, profit_pool
from valuechain_lib.calc.metrics import compute
from valuechain_lib.errors import (
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
from valuechain_lib.snapshot import facts, reported_after, vintage
from valuechain_lib.snapshot.financials import financials, series
from valuechain_lib.snapshot.prices import prices
from valuechain_lib.snapshot.store import load_table, manifest
from valuechain_lib.snapshot.universe import members, universe

__all__ = [
    "__version__",
    "CurrencyError", "FilingConflictError", "PeriodError", "SignConventionError", "SnapshotError",
    "SourceFileError", "UnknownMetricError", "UnknownTickerError", "ValueChainError",
    "aggregate", "calendar_sum", "compute", "facts", "financials", "load_table", "manifest", "members", "metrics", "prices",
    "profit_pool", "reported_after", "series", "universe", "vintage",
]
