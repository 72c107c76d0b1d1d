"""Vendored Vega, Vega-Lite and Vega-Embed for the book's charts: one offline bundle, locked to Altair.

The built book must draw its charts with no network, so the three JavaScript libraries are served
from the book's own static files (``book/_static/vega/``) rather than from a CDN. `write_bundle`
builds that file with ``vl_convert.javascript_bundle`` for the Vega-Lite version the installed
Altair expects, wraps it in its own function scope (the raw bundle declares top-level ``const``
names that would clash with the page's other scripts) and records the versions beside it in
``vega-versions.json``. `bundle_is_current` tells whether that record still matches the installed
``altair`` and ``vl-convert-python``; regenerate the bundle after upgrading either of them.

Examples
--------
>>> from valuechain_lib.publish import vega_assets
>>> vega_assets.write_bundle(vega_assets.DEFAULT_DEST_DIR)  # doctest: +SKIP
>>> vega_assets.bundle_is_current(vega_assets.DEFAULT_DEST_DIR)  # doctest: +SKIP
True
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from importlib import metadata
from pathlib import Path
from typing import Any

from valuechain_lib.errors import ValueChainError
from valuechain_lib.paths import PACKAGE_DIR

__all__ = [
    "BUNDLE_NAME",
    "RUNTIME_NAME",
    "SERVICE_ENV",
    "compile_vega",
    "runtime_status",
    "runtime_transforms",
    "serve_compiler",
    "write_runtime",
    "DEFAULT_DEST_DIR",
    "VERSIONS_NAME",
    "VegaAssetError",
    "bundle_is_current",
    "bundle_status",
    "expected_versions",
    "read_versions",
    "write_bundle",
]

BUNDLE_NAME = "vega-bundle.js"
VERSIONS_NAME = "vega-versions.json"
# The committed copy: book/_static/vega/ under the repository root.
DEFAULT_DEST_DIR = PACKAGE_DIR.parent / "book" / "_static" / "vega"

# Wrapper around the raw ES-module bundle. "use strict" keeps module semantics in a classic
# script. The bundle's last line assigns window.vegaEmbed (and null to window.vega / window.vegaLite).
_IIFE_OPEN = '(function () {\n"use strict";\n'
_IIFE_CLOSE = "\n})();\n"


class VegaAssetError(ValueChainError):
    """The vendored Vega bundle cannot be built for, or does not match, the installed Altair."""


def _dist_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError as exc:  # pragma: no cover - both are requirements
        raise VegaAssetError(f"{name} is not installed; it is needed for the chart bundle") from exc


def vl_major_minor(version: str) -> str:
    """The ``major.minor`` of a Vega-Lite version string (``v6.4.1`` → ``6.4``)."""
    match = re.match(r"v?(\d+)\.(\d+)", version)
    if not match:
        raise VegaAssetError(f"cannot read a major.minor Vega-Lite version from {version!r}")
    return f"{match.group(1)}.{match.group(2)}"


def expected_versions() -> dict[str, Any]:
    """Return what the installed Altair and vl-convert say the bundle should contain.

    Returns
    -------
    dict
        ``altair`` and ``vl-convert-python`` (distribution versions), ``vl_version`` (the
        Vega-Lite major.minor passed to ``vl_convert.javascript_bundle``), ``vega`` and
        ``vega-embed`` (the versions vl-convert bundles) and ``altair_expects`` (Altair's
        ``VEGA_VERSION``, ``VEGALITE_VERSION``, ``VEGAEMBED_VERSION`` and ``SCHEMA_VERSION``).
        The full Vega-Lite version is only known from the bundle itself (see `write_bundle`).
    """
    import altair as alt
    import vl_convert as vlc

    return {
        "altair": _dist_version("altair"),
        "vl-convert-python": _dist_version("vl-convert-python"),
        "vl_version": vl_major_minor(alt.VEGALITE_VERSION),
        "vega": vlc.get_vega_version(),
        "vega-embed": vlc.get_vega_embed_version(),
        "altair_expects": {
            "vega": alt.VEGA_VERSION,
            "vega-lite": alt.VEGALITE_VERSION,
            "vega-embed": alt.VEGAEMBED_VERSION,
            "schema": alt.SCHEMA_VERSION,
        },
    }


def _matches(version: str, expected: str) -> bool:
    """True if ``version`` (e.g. ``6.2.0``) is ``expected`` or within it (``6`` or ``6.2``)."""
    return version == expected or version.startswith(expected + ".")


def _bundled_vegalite_version(bundle: str, expected: str, major_minor: str) -> str:
    """Find the full Vega-Lite version inside the bundle (it declares it as a string literal)."""
    if f'"{expected}"' in bundle and _matches(expected, major_minor):
        return expected
    found = sorted(set(re.findall(r'"(' + re.escape(major_minor) + r'\.\d+)"', bundle)))
    if len(found) == 1:
        return found[0]
    return major_minor  # unknown patch: bundle_status will report the mismatch


def _header(versions: dict[str, Any]) -> str:
    return (
        f"/*! {BUNDLE_NAME}: vega {versions['vega']}, vega-lite {versions['vega-lite']}, "
        f"vega-embed {versions['vega-embed']} (BSD-3-Clause; see LICENSES.txt).\n"
        f" * Generated by valuechain_lib.publish.vega_assets.write_bundle from vl-convert-python "
        f"{versions['vl-convert-python']} for altair {versions['altair']}; do not edit by hand.\n"
        f" * Wrapped in a function scope; its only global is window.vegaEmbed (window.vega and\n"
        f" * window.vegaLite are set to null by vl-convert's bundler). */\n"
    )


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8", newline="\n")
    tmp.replace(path)


def write_bundle(dest_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Write ``vega-bundle.js`` and ``vega-versions.json`` for the installed Altair.

    Parameters
    ----------
    dest_dir : str or path-like
        Folder to write into (created if missing); the book's copy is `DEFAULT_DEST_DIR`.

    Returns
    -------
    dict
        The record written to ``vega-versions.json``: the `expected_versions` entries plus the
        bundled ``vega-lite`` version and the bundle's ``bytes`` and ``sha256``.

    Raises
    ------
    VegaAssetError
        If vl-convert cannot bundle the Vega-Lite version Altair expects, or bundles a Vega or
        Vega-Embed of another major version than Altair expects.
    """
    import vl_convert as vlc

    versions = expected_versions()
    expects = versions["altair_expects"]
    vl_version = versions["vl_version"]
    available = list(vlc.get_vegalite_versions())
    if vl_version not in available:
        raise VegaAssetError(
            f"vl-convert-python {versions['vl-convert-python']} cannot bundle Vega-Lite {vl_version} "
            f"(altair {versions['altair']} expects {expects['vega-lite']}); it offers {available}")
    for lib in ("vega", "vega-embed"):
        if not _matches(versions[lib], expects[lib]):
            raise VegaAssetError(
                f"vl-convert-python {versions['vl-convert-python']} bundles {lib} {versions[lib]} "
                f"but altair {versions['altair']} expects {lib} {expects[lib]}")

    raw = vlc.javascript_bundle(vl_version=vl_version)
    versions["vega-lite"] = _bundled_vegalite_version(raw, expects["vega-lite"], vl_version)
    text = _header(versions) + _IIFE_OPEN + raw.rstrip() + _IIFE_CLOSE
    data = text.encode("utf-8")
    record = {
        "vega": versions["vega"],
        "vega-lite": versions["vega-lite"],
        "vega-embed": versions["vega-embed"],
        "vl_version": vl_version,
        "altair": versions["altair"],
        "vl-convert-python": versions["vl-convert-python"],
        "altair_expects": expects,
        "bundle": {"file": BUNDLE_NAME, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()},
    }
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    if (dest / VERSIONS_NAME).is_file():
        previous = json.loads((dest / VERSIONS_NAME).read_text(encoding="utf-8"))
        if "runtime" in previous:
            record["runtime"] = previous["runtime"]
    _write_atomic(dest / BUNDLE_NAME, text)
    _write_atomic(dest / VERSIONS_NAME, json.dumps(record, indent=2, sort_keys=True) + "\n")
    return record


def read_versions(dest_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Return the ``vega-versions.json`` record in ``dest_dir``.

    Raises
    ------
    VegaAssetError
        If the file is missing or is not valid JSON.
    """
    path = Path(dest_dir) / VERSIONS_NAME
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise VegaAssetError(f"{path} is missing; run valuechain_lib.publish.vega_assets.write_bundle") from exc
    except json.JSONDecodeError as exc:
        raise VegaAssetError(f"{path} is not valid JSON: {exc}") from exc


def bundle_status(dest_dir: str | os.PathLike[str]) -> list[str]:
    """List why the bundle in ``dest_dir`` does not match the installed libraries (empty if it does).

    Compares ``vega-versions.json`` with `expected_versions` (altair and vl-convert-python
    versions, Altair's expected Vega / Vega-Lite / Vega-Embed versions) and checks the bundle's
    size and SHA-256 against the record, so a hand-edited or truncated bundle is reported too.
    Cheap: it does not rebuild the bundle.
    """
    dest = Path(dest_dir)
    try:
        record = read_versions(dest)
    except VegaAssetError as exc:
        return [str(exc)]
    problems = []
    expected = expected_versions()
    for key in ("altair", "vl-convert-python", "vl_version", "vega", "vega-embed", "altair_expects"):
        if record.get(key) != expected[key]:
            problems.append(f"{key}: bundle has {record.get(key)!r}, installed {expected[key]!r}")
    expects = expected["altair_expects"]
    if record.get("vega-lite") != expects["vega-lite"]:
        problems.append(f"vega-lite: bundle has {record.get('vega-lite')!r}, altair expects {expects['vega-lite']!r}")
    bundle = dest / BUNDLE_NAME
    if not bundle.is_file():
        problems.append(f"{bundle} is missing")
    else:
        data = bundle.read_bytes()
        info = record.get("bundle", {})
        if info.get("bytes") != len(data) or info.get("sha256") != hashlib.sha256(data).hexdigest():
            problems.append(f"{bundle} differs from the size/sha256 in {VERSIONS_NAME} (edited by hand?)")
    return problems


def bundle_is_current(dest_dir: str | os.PathLike[str]) -> bool:
    """Return True if the bundle in ``dest_dir`` matches the installed altair and vl-convert-python.

    Parameters
    ----------
    dest_dir : str or path-like
        Folder holding ``vega-bundle.js`` and ``vega-versions.json``.

    Returns
    -------
    bool
        False if either file is missing, the recorded versions differ from the installed ones, or
        the bundle was changed after it was written; `bundle_status` says why.
    """
    return not bundle_status(dest_dir)


# --------------------------------------------------------------------------- the pages' runtime
RUNTIME_NAME = "vega-runtime.js"
# What the pages load: Vega's runtime (parser, dataflow, SVG renderer) and the tooltip handler Vega-Embed
# uses, without the Vega-Lite compiler (every spec is compiled when the book is built, `compile_vega`)
# and without the transforms no chart of the book needs (geographic, force, hierarchy, label, regression,
# Voronoi, word-cloud and crossfilter). Versions pinned; `write_runtime` rebuilds it with npm and esbuild.
RUNTIME_PACKAGES = {"vega": "6.4.0", "vega-tooltip": "1.1.0", "esbuild": "0.25.12"}
_RUNTIME_ENTRY = """\
import {extend} from 'vega-util';
import {transforms} from 'vega-dataflow';
import * as tx from 'vega-transforms';
import * as vtx from 'vega-view-transforms';
import * as encode from 'vega-encode';
import {Handler} from 'vega-tooltip';
extend(transforms, tx, vtx, encode);
export {View} from 'vega-view';
export {parse} from 'vega-parser';
export {Handler};
export const transformNames = Object.keys(transforms).sort();
"""


def write_runtime(dest_dir: str | os.PathLike[str], workdir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Build ``vega-runtime.js`` (the pages' chart runtime) with npm and esbuild; record it.

    Needs ``npm`` and the npm registry (only when the pinned `RUNTIME_PACKAGES` change); the book's
    build never calls it. The bundle defines one global, ``vegaRuntime`` (``View``, ``parse``,
    ``Handler`` for tooltips and ``transformNames``, the Vega transforms it knows), and its record goes
    under ``runtime`` in ``vega-versions.json``.

    Parameters
    ----------
    dest_dir : str or path-like
        Folder to write into; the book's copy is `DEFAULT_DEST_DIR`.
    workdir : str or path-like, optional
        Where npm installs the packages (default a temporary folder).

    Returns
    -------
    dict
        The ``runtime`` record: file, bytes, sha256, package versions and the transform names.
    """
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="vc-vega-runtime-") as tmp:
        work = Path(workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        (work / "package.json").write_text(json.dumps({"name": "vc-vega-runtime", "private": True}), encoding="utf-8")
        (work / "entry.js").write_text(_RUNTIME_ENTRY, encoding="utf-8")
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent",
                        *(f"{name}@{version}" for name, version in RUNTIME_PACKAGES.items())], cwd=work, check=True)
        subprocess.run([str(work / "node_modules" / ".bin" / "esbuild"), "entry.js", "--bundle", "--minify",
                        "--format=iife", "--global-name=vegaRuntime", "--legal-comments=none", "--outfile=out.js"],
                       cwd=work, check=True, capture_output=True)
        body = (work / "out.js").read_text(encoding="utf-8")
        probe = ("const vm=require('vm');const c={window:{},self:{}};vm.createContext(c);"
                 "vm.runInContext(require('fs').readFileSync('out.js','utf8')+';this.r=vegaRuntime',c);"
                 "process.stdout.write(JSON.stringify(c.r.transformNames))")
        transforms = json.loads(subprocess.run(["node", "-e", probe], cwd=work, check=True, capture_output=True,
                                               text=True).stdout)
    header = (f"/*! {RUNTIME_NAME}: vega {RUNTIME_PACKAGES['vega']} runtime and vega-tooltip "
              f"{RUNTIME_PACKAGES['vega-tooltip']} (BSD-3-Clause; see LICENSES.txt), built with esbuild "
              f"{RUNTIME_PACKAGES['esbuild']}\n * by valuechain_lib.publish.vega_assets.write_runtime; do not edit by "
              "hand. Its only global is window.vegaRuntime. */\n")
    data = (header + body).encode("utf-8")
    record = {"file": RUNTIME_NAME, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
              "packages": dict(RUNTIME_PACKAGES), "transforms": transforms}
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    _write_atomic(dest / RUNTIME_NAME, data.decode("utf-8"))
    versions = read_versions(dest) if (dest / VERSIONS_NAME).is_file() else {}
    versions["runtime"] = record
    _write_atomic(dest / VERSIONS_NAME, json.dumps(versions, indent=2, sort_keys=True) + "\n")
    return record


def runtime_transforms(dest_dir: str | os.PathLike[str] = DEFAULT_DEST_DIR) -> frozenset[str]:
    """The Vega transforms the pages' runtime knows (from ``vega-versions.json``; empty without one, e.g.
    the library used outside a clone of the book)."""
    try:
        return frozenset(read_versions(dest_dir).get("runtime", {}).get("transforms", ()))
    except VegaAssetError:
        return frozenset()


def runtime_status(dest_dir: str | os.PathLike[str] = DEFAULT_DEST_DIR) -> list[str]:
    """Why ``vega-runtime.js`` in ``dest_dir`` does not match its record (empty if it does)."""
    dest = Path(dest_dir)
    try:
        info = read_versions(dest).get("runtime")
    except VegaAssetError as exc:
        return [str(exc)]
    if not info:
        return [f"{dest / VERSIONS_NAME} has no runtime record; run vega_assets.write_runtime"]
    path = dest / RUNTIME_NAME
    if not path.is_file():
        return [f"{path} is missing"]
    data = path.read_bytes()
    if info.get("bytes") != len(data) or info.get("sha256") != hashlib.sha256(data).hexdigest():
        return [f"{path} differs from the size/sha256 in {VERSIONS_NAME} (edited by hand?)"]
    if not vl_major_minor(info.get("packages", {}).get("vega", "0.0")).startswith(_dist_major("vega")):
        return [f"{path} holds vega {info['packages']['vega']}, the compiled specs target vega {_dist_major('vega')}"]
    return []


def _dist_major(lib: str) -> str:
    import vl_convert as vlc

    return (vlc.get_vega_version() if lib == "vega" else "0").split(".")[0]


# --------------------------------------------------------------------------- compiling specs
#: A Unix socket where a warm compiler answers (set for the book's notebooks by the build's worker pool).
SERVICE_ENV = "VALUECHAIN_VEGA_SERVICE"


def _ask_service(address: str, spec: dict, vl_version: str) -> dict:
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(60)
        conn.connect(address)
        conn.sendall(json.dumps({"spec": spec, "vl_version": vl_version}).encode("utf-8") + b"\n")
        conn.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := conn.recv(1 << 16):
            chunks.append(chunk)
    answer = json.loads(b"".join(chunks))
    if "error" in answer:
        raise ValueError(answer["error"])
    return answer["vega"]


def compile_vega(spec: dict, vl_version: str | None = None) -> dict:
    """Compile a Vega-Lite spec to Vega with the Vega-Lite version the book's specs are written for.

    Uses the warm compiler at ``$VALUECHAIN_VEGA_SERVICE`` when one answers (the build's notebooks:
    starting the compiler costs about 0.4 s a process), else ``vl_convert`` in this process.

    Raises
    ------
    ValueError
        Vega-Lite cannot compile the spec (the message is vl-convert's).
    """
    import altair as alt

    vl_version = vl_version or vl_major_minor(alt.VEGALITE_VERSION)
    address = os.environ.get(SERVICE_ENV)
    if address:
        try:
            return _ask_service(address, spec, vl_version)
        except OSError:
            pass  # no service (any more): compile here
    import vl_convert

    return vl_convert.vegalite_to_vega(spec, vl_version=vl_version)


def serve_compiler(address: str, parent: int | None = None) -> None:
    """Answer `compile_vega` requests on the Unix socket ``address`` until ``parent`` exits.

    One JSON line in (``spec``, ``vl_version``), one JSON object out (``vega`` or ``error``).
    """
    import socketserver
    import threading

    import vl_convert

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            request = json.loads(self.rfile.readline())
            try:
                answer = {"vega": vl_convert.vegalite_to_vega(request["spec"], vl_version=request["vl_version"])}
            except Exception as exc:
                answer = {"error": str(exc)}
            self.wfile.write(json.dumps(answer).encode("utf-8"))

    class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
        daemon_threads = True

    with Server(address, Handler) as server:  # listening from here: early requests wait for the warm-up
        vl_convert.vegalite_to_vega({"mark": "point"})  # start the JavaScript engine once (~0.4 s)

        def watch():
            while parent is None or os.getppid() == parent:
                threading.Event().wait(0.5)
            server.shutdown()
        threading.Thread(target=watch, daemon=True).start()
        server.serve_forever(poll_interval=0.2)
