"""sar.product package."""
