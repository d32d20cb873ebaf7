"""The eoport application: configuration, CLI, HTTP API, metrics."""
