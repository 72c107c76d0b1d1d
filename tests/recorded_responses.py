"""The recorded-response helpers (`tests/data/recorded/recorded.py`), loaded once for every test module.

They live beside the recorded bodies and the script that makes them; this module gives the tests one
import for them instead of a loader in each file.
"""

import importlib.util
import sys
from pathlib import Path

_NAME = "vc_recorded"
if _NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).parent / "data" / "recorded" / "recorded.py")
    sys.modules[_NAME] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules[_NAME])
rec = sys.modules[_NAME]
