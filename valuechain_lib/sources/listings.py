"""Where a price ticker trades: its listing currency from the exchange suffix (no network, no files)."""

from __future__ import annotations

from valuechain_lib.errors import CurrencyError

#: Trading currency of a price ticker by exchange suffix (the *listing* currency, which can differ
#: from the reporting currency in the universe file: TSM reports in TWD, its NYSE ADR trades in USD).
SUFFIX_CURRENCY = {"": "USD", ".KS": "KRW", ".KQ": "KRW"}


def currency_of(price_ticker: str) -> str:
    """Return the trading currency of a price ticker from its exchange suffix (see `SUFFIX_CURRENCY`).

    Examples
    --------
    >>> currency_of("000660.KS"), currency_of("NVDA")
    ('KRW', 'USD')
    """
    suffix = "." + price_ticker.rsplit(".", 1)[1] if "." in price_ticker else ""
    if suffix not in SUFFIX_CURRENCY:
        raise CurrencyError(f"{price_ticker}: no trading currency known for exchange suffix {suffix!r}")
    return SUFFIX_CURRENCY[suffix]
