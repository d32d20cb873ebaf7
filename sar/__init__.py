"""eoport science core: Sentinel-1 Level-0 codec, simulator, focusing, products, quality.

This package never imports the service layers (``streams``, ``eoport``, ``operators``);
the rule is checked by import-linter (``lint-imports``).
"""

__version__ = "0.1.0"
