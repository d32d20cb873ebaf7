"""sar.quality package."""
