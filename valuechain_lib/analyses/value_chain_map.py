"""The value chain map: the universe by layer, and revenue and operating income pooled by layer: the chapter's module.

The pooling is `valuechain_lib.analyses.hourglass`'s (the hourglass chapter compares the same layers'
margins); this module re-exports what ``chapters/value_chain_map.md`` uses, so the chapter imports its own
module only.
"""

from __future__ import annotations

from valuechain_lib.analyses.hourglass import layer_pool, pooled_period_ends, pooled_tickers, quarter_label

__all__ = ["layer_pool", "pooled_period_ends", "pooled_tickers", "quarter_label"]
