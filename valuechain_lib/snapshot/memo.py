"""Keep an analysis's result for the rest of a process while the data it reads stay as they are: `memoized`.

A chapter asks for the same analysis several times -- once for its chart, again inside the verdict
it shows -- and the scorecard asks every chapter's rules at once. Each answer depends only on the
arguments, the data folder's files and the date set by `valuechain_lib.snapshot.vintage.as_of`, so
the first answer is kept under that key and copies of it are handed out: an edited or replaced data
file (another modification time or size), another data folder or another date is a new key.
"""

from __future__ import annotations

import copy
import functools
import os
from collections import OrderedDict

from valuechain_lib.paths import data_dir
from valuechain_lib.snapshot.vintage import current

#: Results kept per function (the latest used); an analysis is asked for with a few argument sets.
KEPT = 8


def data_state() -> tuple:
    """The data folder, the date `as_of` sets, and every file under the folder with its modification
    time and size: what an analysis's result is keyed by besides its arguments."""
    folder = os.path.abspath(data_dir())
    files = []
    for root, _, names in os.walk(folder):
        for name in names:
            info = os.stat(os.path.join(root, name))
            files.append((os.path.relpath(os.path.join(root, name), folder), info.st_mtime_ns, info.st_size))
    return folder, current(), tuple(sorted(files))


def _frozen(value):
    """A hashable stand-in for an argument (lists and dicts by their contents); TypeError for a table."""
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, set | frozenset):
        return frozenset(_frozen(v) for v in value)
    hash(value)  # a DataFrame or Series raises TypeError: such calls are not kept
    return value


def memoized(func):
    """Decorate a pure analysis function of the data: repeated calls return copies of the first result.

    Calls with an argument that cannot be a key (a DataFrame handed in) run every time. The copies are
    deep (`copy.deepcopy`), so a caller that changes its result changes nobody else's.

    Examples
    --------
    >>> calls = []
    >>> @memoized
    ... def answer(x):
    ...     calls.append(x)
    ...     return [x]
    >>> answer(1) == answer(1) == [1], len(calls)
    (True, 1)
    >>> answer(1).append(2); answer(1)
    [1]
    """
    kept: OrderedDict = OrderedDict()

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            key = (_frozen(args), _frozen(kwargs), data_state())
        except TypeError:
            return func(*args, **kwargs)
        if key in kept:
            kept.move_to_end(key)
        else:
            kept[key] = func(*args, **kwargs)
            while len(kept) > KEPT:
                kept.popitem(last=False)
        return copy.deepcopy(kept[key])

    wrapper.cache_clear = kept.clear
    return wrapper
