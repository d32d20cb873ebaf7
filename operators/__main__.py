"""``python -m operators``: run the ``FocusingPool`` operator (in its pod, or against a
cluster with ``--server``)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from operators._kube import KubeConnection
from operators.handlers import OperatorOptions
from operators.operator import run_operator


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options (defaults from ``EOPORT_OPERATOR_*`` variables)."""
    env = os.environ.get
    p = argparse.ArgumentParser(prog="python -m operators", description=__doc__)
    p.add_argument("--namespace", default=env("EOPORT_OPERATOR_NAMESPACE") or env("POD_NAMESPACE"),
                   help="namespace to watch (default: the pod's)")  # fmt: skip
    p.add_argument("--interval", type=float, default=float(env("EOPORT_OPERATOR_INTERVAL", "2")),
                   help="evaluation period of each pool, s (default 2)")  # fmt: skip
    p.add_argument("--server", default=env("EOPORT_OPERATOR_SERVER"),
                   help="API server URL (default: in-cluster service account)")  # fmt: skip
    p.add_argument("--token-file", default=env("EOPORT_OPERATOR_TOKEN_FILE"))
    p.add_argument("--insecure", action="store_true", help="skip TLS verification")
    p.add_argument(
        "--metrics-port", type=int, default=int(env("EOPORT_OPERATOR_METRICS_PORT", "9109"))
    )
    p.add_argument(
        "--liveness", default=env("EOPORT_OPERATOR_LIVENESS", "http://0.0.0.0:8080/healthz")
    )
    p.add_argument("--log-level", default=env("EOPORT_OPERATOR_LOG_LEVEL", "INFO"))
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    if args.server:
        connection = KubeConnection(args.server, token_path=args.token_file, insecure=args.insecure,
                                    namespace=args.namespace)  # fmt: skip
    else:
        connection = KubeConnection.in_cluster()
    namespace = args.namespace or connection.namespace
    if not namespace:
        print("python -m operators: --namespace is required outside a pod", file=sys.stderr)
        return 2
    run_operator(
        OperatorOptions(namespace=namespace, interval_s=args.interval, connection=connection),
        metrics_port=args.metrics_port,
        liveness_endpoint=args.liveness or None,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
