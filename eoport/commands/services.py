"""``eoport demo`` and ``eoport run STAGE``: the streaming chain."""

from __future__ import annotations

import argparse

from eoport.errors import NotImplementedYetError


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the whole chain on this machine."""
    raise NotImplementedYetError(
        "eoport demo: the streaming chain is not implemented yet (issue: streaming pipeline)"
    )


def cmd_run(args: argparse.Namespace) -> int:
    """Run one stage of the chain as its own process."""
    raise NotImplementedYetError(
        f"eoport run {args.stage}: this stage is not implemented yet (issue: streaming pipeline)"
    )
