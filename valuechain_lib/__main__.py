"""``python -m valuechain_lib``: the project's command line (see `valuechain_lib.cli`)."""

from valuechain_lib.cli import main

raise SystemExit(main())
