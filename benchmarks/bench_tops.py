"""IW TOPS burst focusing benchmark (:func:`benchmarks.tops.run_tops_benchmark`).

Run: ``python -m benchmarks.bench_tops [eoport bench tops options]``, e.g.
``--swath all --antenna both --wisdom PATH``: the same as ``eoport bench tops``.
"""

from __future__ import annotations

import sys

from eoport.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "tops", *sys.argv[1:]]))
