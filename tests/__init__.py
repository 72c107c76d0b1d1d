"""The test suite; a package so that its helpers (browser_tools, raw_values, data.recorded) import by name."""
