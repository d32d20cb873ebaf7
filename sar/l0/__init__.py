"""sar.l0 package."""
