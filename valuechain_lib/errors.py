"""Exceptions raised by valuechain_lib, each naming the company, period or field at fault."""


class ValueChainError(Exception):
    """Base class of every error the library raises on bad input."""


class UnknownTickerError(ValueChainError, KeyError):
    """A ticker that is not in the universe file."""

    def __str__(self) -> str:  # KeyError would otherwise print the repr
        return str(self.args[0]) if self.args else ""


class UnknownMetricError(ValueChainError, KeyError):
    """A metric name that is not canonical, or that a company never reports."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class SourceFileError(ValueChainError):
    """A raw source file that is malformed, truncated, or belongs to another company."""


class FilingConflictError(ValueChainError):
    """Facts of one filing that disagree about the same period and tag."""


class SignConventionError(ValueChainError):
    """A value whose sign breaks the library's convention (e.g. a negative capex outflow)."""


class PeriodError(ValueChainError):
    """A period that cannot be placed in a fiscal or calendar quarter, or misaligned periods."""


class CurrencyError(ValueChainError):
    """A sum across currencies without exchange rates."""


class SnapshotError(ValueChainError):
    """A missing, incomplete or invalid committed snapshot."""
