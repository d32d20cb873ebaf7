"""sar.focus package."""
