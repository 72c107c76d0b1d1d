"""``python -m valuechain_lib``: the project's command line (see `valuechain_lib.cli`)."""

from .cli import main

raise SystemExit(main())
