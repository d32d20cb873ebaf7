"""Kubernetes operator scaling focusing workers (kopf)."""
