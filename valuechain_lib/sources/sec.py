"""Readers of SEC XBRL fact files into one raw-facts table with provenance.

Three layouts are read:

* SEC's own companyfacts JSON (``{"cik", "entityName", "facts": {"us-gaap": ..., "dei": ...}}``),
  which a live refresh downloads, and the trimmed wrapper some public projects save
  (``{"ticker", "entityName", "cik", "fetched", "facts"}``);
* single-concept files in the SEC fact format (``{"concept", "label", "description", "units"}``);
* the third-party "flujo" statement snapshots (year-to-date records, no accession numbers), a
  secondary source that the book labels as such.

Each reader returns rows of `RAW_COLUMNS`; nothing here picks tags or derives periods.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from valuechain_lib.errors import SourceFileError

RAW_COLUMNS = [
    "ticker", "taxonomy", "tag", "unit", "start", "end", "value", "accession",
    "fy", "fp", "form", "filed", "frame", "source", "source_file",
]

SOURCE_COMPANYFACTS = "SEC EDGAR XBRL companyfacts"
SOURCE_FLUJO = "flujo derived statements (secondary, third-party; no accession numbers)"


def _load_json(path: Path, ticker: str):
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceFileError(f"{ticker}: cannot read {path}: {exc}") from exc
    return parse_json_text(text, f"{ticker}: {path}")


def parse_json_text(text: str, where: str):
    """Parse JSON, turning a malformed or truncated body into a `SourceFileError` naming ``where``."""
    if not text.strip():
        raise SourceFileError(f"{where}: empty file (truncated download?)")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        body = text.rstrip()
        unterminated = exc.msg.startswith("Unterminated string") and '"' not in body[exc.pos + 1:]
        hint = "truncated" if exc.pos >= len(body) or unterminated else "malformed"
        raise SourceFileError(
            f"{where}: {hint} JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc


def _check_cik(found, expected, ticker: str, where) -> None:
    if expected is None or found is None:
        return
    try:
        found_int = int(str(found).lstrip("CIK").lstrip("0") or 0)
    except ValueError as exc:
        raise SourceFileError(f"{ticker}: {where}: unreadable CIK {found!r}") from exc
    if found_int != int(expected):
        raise SourceFileError(
            f"{ticker}: {where} is for CIK {found_int}, but the universe gives CIK {int(expected)} "
            f"for {ticker}: wrong company's file"
        )


def _facts_frame(rows: list[dict], ticker: str, source: str, source_file: str) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows, columns=RAW_COLUMNS[1:13])
    frame.insert(0, "ticker", ticker)
    frame["source"] = source
    frame["source_file"] = source_file
    for col in ("start", "end", "filed"):
        frame[col] = pd.to_datetime(frame[col], format="%Y-%m-%d", errors="coerce")
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    bad = frame[frame["end"].isna() | frame["value"].isna()]
    if not bad.empty:
        first = bad.iloc[0]
        raise SourceFileError(
            f"{ticker}: {source_file}: {len(bad)} fact(s) with an unreadable end date or value "
            f"(first: tag {first['tag']}, accession {first['accession']})"
        )
    return frame


def _concept_rows(taxonomy: str, tag: str, concept: dict, where: str) -> list[dict]:
    units = concept.get("units")
    if not isinstance(units, dict):
        raise SourceFileError(f"{where}: concept {taxonomy}:{tag} has no 'units' mapping")
    rows = []
    for unit, facts in units.items():
        for fact in facts:
            try:
                rows.append({
                    "taxonomy": taxonomy, "tag": tag, "unit": unit,
                    "start": fact.get("start"), "end": fact["end"], "value": fact["val"],
                    "accession": fact.get("accn"), "fy": fact.get("fy"), "fp": fact.get("fp"),
                    "form": fact.get("form"), "filed": fact.get("filed"), "frame": fact.get("frame"),
                })
            except (KeyError, TypeError) as exc:
                raise SourceFileError(
                    f"{where}: fact of {taxonomy}:{tag} ({unit}) lacks field {exc}: {fact!r}"
                ) from exc
    return rows


def read_companyfacts(path, ticker: str, cik: int | None = None, text: str | None = None) -> pd.DataFrame:
    """Read a companyfacts JSON (SEC's own or the trimmed wrapper) into raw facts.

    Parameters
    ----------
    path : str or Path
        The file (named in errors and in the ``source_file`` column).
    ticker : str
        The company's ticker, written on every row.
    cik : int, optional
        The CIK the universe gives; a file carrying another CIK raises `SourceFileError`.
    text : str, optional
        The JSON body, when it is already in memory (a live download).

    Returns
    -------
    pandas.DataFrame
        One row per fact with columns `RAW_COLUMNS`; ``value`` in the fact's own unit.

    Raises
    ------
    SourceFileError
        Malformed or truncated JSON, no ``facts`` section, or a CIK other than ``cik``.
    """
    where = f"{ticker}: {path}"
    doc = parse_json_text(text, where) if text is not None else _load_json(Path(path), ticker)
    if not isinstance(doc, dict) or not isinstance(doc.get("facts"), dict):
        raise SourceFileError(f"{where}: not a companyfacts document (no 'facts' object)")
    _check_cik(doc.get("cik"), cik, ticker, path)
    rows = []
    for taxonomy, concepts in doc["facts"].items():
        if taxonomy == "dei":
            continue
        for tag, concept in concepts.items():
            rows.extend(_concept_rows(taxonomy, tag, concept, where))
    return _facts_frame(rows, ticker, SOURCE_COMPANYFACTS, str(path))


def read_concept_file(path, ticker: str, taxonomy: str = "us-gaap") -> pd.DataFrame:
    """Read one concept in the SEC fact format (``{"concept", "label", "units"}``) into raw facts.

    Parameters
    ----------
    path : str or Path
        A ``<Concept>.json`` file; the tag is its ``concept`` field.
    ticker : str
        The company's ticker.
    taxonomy : str
        ``us-gaap`` or ``ifrs-full``: the file format does not say which.
    """
    doc = _load_json(Path(path), ticker)
    if not isinstance(doc, dict) or "concept" not in doc:
        raise SourceFileError(f"{ticker}: {path}: not a single-concept fact file (no 'concept' field)")
    rows = _concept_rows(taxonomy, doc["concept"], doc, f"{ticker}: {path}")
    return _facts_frame(rows, ticker, SOURCE_COMPANYFACTS + " (concept copied from the full file)", str(path))


_FLUJO_QUARTER_FP = {0: "FY", 1: "Q1", 2: "Q2", 3: "Q3", 4: "FY"}


def read_flujo(path, ticker: str, cik: int | None = None) -> pd.DataFrame:
    """Read a "flujo" derived statement file (secondary source, no accession numbers).

    Quarterly records there are year-to-date; income-statement and cash-flow items (``report.ic``)
    are durations from ``startDate`` to ``endDate``, balance-sheet items (``report.bs``) are
    instants at ``endDate``. ``accession`` is left missing: the format does not keep it.
    """
    doc = _load_json(Path(path), ticker)
    if not isinstance(doc, dict) or not {"annual", "quarterly"} <= doc.keys():
        raise SourceFileError(f"{ticker}: {path}: not a flujo statement file (no annual/quarterly)")
    _check_cik(doc.get("cik"), cik, ticker, path)
    rows = []
    for section in ("annual", "quarterly"):
        for record in doc[section].get("data", []):
            try:
                start, end = record["startDate"], record["endDate"]
                report = record["report"]
            except (KeyError, TypeError) as exc:
                raise SourceFileError(f"{ticker}: {path}: {section} record lacks {exc}") from exc
            for statement, items in report.items():
                is_instant = statement == "bs"
                for item in items:
                    taxonomy, _, tag = item["concept"].partition("_")
                    rows.append({
                        "taxonomy": taxonomy, "tag": tag, "unit": item.get("unit"),
                        "start": None if is_instant else start, "end": end, "value": item.get("value"),
                        "accession": None, "fy": record.get("year"),
                        "fp": _FLUJO_QUARTER_FP.get(record.get("quarter"), None),
                        "form": record.get("form"), "filed": record.get("filedDate"), "frame": None,
                    })
    return _facts_frame(rows, ticker, SOURCE_FLUJO, str(path))


def _supplement_taxonomy(folder: Path, ifrs_only_tags: set[str]) -> str:
    """An IFRS filer's supplement folder holds tags that exist only in ifrs-full."""
    names = {p.stem for p in folder.glob("*.json")}
    return "ifrs-full" if names & ifrs_only_tags else "us-gaap"


def read_company(raw_sec_dir, ticker: str, cik: int | None, sec_source: str,
                 ifrs_only_tags: set[str] = frozenset()) -> pd.DataFrame:
    """Read every raw SEC file of one company under ``raw_sec_dir`` into one raw-facts table.

    ``<TICKER>.companyfacts.json`` plus ``supplement/<TICKER>/*.json`` for ``companyfacts``
    companies (a company may have only the supplement, as TSMC), ``<TICKER>.flujo-sec.json``
    for ``flujo``.
    """
    raw_sec_dir = Path(raw_sec_dir)
    frames = []
    if sec_source == "flujo":
        path = raw_sec_dir / f"{ticker}.flujo-sec.json"
        if not path.exists():
            raise SourceFileError(f"{ticker}: raw file {path} not found")
        frames.append(read_flujo(path, ticker, cik))
    elif sec_source == "companyfacts":
        main = raw_sec_dir / f"{ticker}.companyfacts.json"
        if main.exists():
            frames.append(read_companyfacts(main, ticker, cik))
        folder = raw_sec_dir / "supplement" / ticker
        if folder.is_dir():
            taxonomy = _supplement_taxonomy(folder, set(ifrs_only_tags))
            frames.extend(read_concept_file(p, ticker, taxonomy) for p in sorted(folder.glob("*.json")))
        if not frames:
            raise SourceFileError(f"{ticker}: no companyfacts file or supplement under {raw_sec_dir}")
    else:
        raise SourceFileError(f"{ticker}: unknown sec_source {sec_source!r} in the universe file")
    return pd.concat(frames, ignore_index=True)


def source_files(raw_sec_dir, ticker: str, sec_source: str) -> list[Path]:
    """List the raw files `read_company` reads for one company (for the manifest)."""
    raw_sec_dir = Path(raw_sec_dir)
    if sec_source == "flujo":
        return [raw_sec_dir / f"{ticker}.flujo-sec.json"]
    files = [raw_sec_dir / f"{ticker}.companyfacts.json"]
    files += sorted((raw_sec_dir / "supplement" / ticker).glob("*.json"))
    return [f for f in files if f.exists()]
