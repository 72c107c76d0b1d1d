"""valuechain_lib: SEC filings and share prices to a cited, calendar-aligned snapshot for the AI value-chain book.

The public API the chapters use:

- `financials` — tidy statement figures by quarter, fiscal year or TTM, fiscal and calendar labels;
- `prices` — daily split-adjusted close and total-return index per ticker;
- `universe` — companies, layers, fiscal-year ends and currencies (``data/universe.csv``); `members` —
  the tickers of a layer or sub-layer (the book's company groups), in universe order;
- `metrics` — pure metric functions (``get_*``) and `compute`;
- `aggregate` — calendar-aligned sums and the profit pool by layer.
"""

from importlib import import_module

from valuechain_lib._version import __version__

# Loaded at first use (PEP 562): ``import valuechain_lib.publish.build`` -- the book's build command --
# then costs no pandas or Altair import, and the face still reads ``vc.financials(...)``.
_FACE = {
    # modules
    "aggregate": ("valuechain_lib.calc.aggregate", None), "metrics": ("valuechain_lib.calc.metrics", None),
    "facts": ("valuechain_lib.snapshot.facts", None), "reported_after": ("valuechain_lib.snapshot.reported_after", None),
    "vintage": ("valuechain_lib.snapshot.vintage", None),
    # functions
    "calendar_sum": ("valuechain_lib.calc.aggregate", "calendar_sum"),
    "profit_pool": ("valuechain_lib.calc.aggregate", "profit_pool"),
    "compute": ("valuechain_lib.calc.metrics", "compute"),
    "financials": ("valuechain_lib.snapshot.financials", "financials"),
    "series": ("valuechain_lib.snapshot.financials", "series"),
    "prices": ("valuechain_lib.snapshot.prices", "prices"),
    "load_table": ("valuechain_lib.snapshot.store", "load_table"),
    "manifest": ("valuechain_lib.snapshot.store", "manifest"),
    "members": ("valuechain_lib.snapshot.universe", "members"),
    "universe": ("valuechain_lib.snapshot.universe", "universe"),
    **{name: ("valuechain_lib.errors", name) for name in (
        "CurrencyError", "FilingConflictError", "PeriodError", "SignConventionError", "SnapshotError",
        "SourceFileError", "UnknownMetricError", "UnknownTickerError", "ValueChainError")},
}

__all__ = ["__version__", *sorted(_FACE)]


def __getattr__(name: str):
    try:
        module, attribute = _FACE[name]
    except KeyError:
        raise AttributeError(f"module 'valuechain_lib' has no attribute {name!r}") from None
    value = import_module(module) if attribute is None else getattr(import_module(module), attribute)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_FACE})
