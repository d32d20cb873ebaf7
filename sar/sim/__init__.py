"""sar.sim package."""
