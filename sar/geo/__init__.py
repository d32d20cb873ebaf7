"""sar.geo package."""
