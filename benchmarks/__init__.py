"""Speed measurements of eoport and the slow reference implementations they time against.

Installed with eoport so that ``eoport bench`` can run them; nothing in ``sar``,
``streams``, ``operators`` or the ``eoport`` library imports this package (only the
``eoport bench`` commands do; the import-linter contracts in ``pyproject.toml`` keep it so).

Modules
-------
:mod:`benchmarks.stripmap`
    Stripmap focusing of one IW1-burst-sized block (``eoport bench focus``).
:mod:`benchmarks.tops`
    IW TOPS burst focusing (``eoport bench tops``).
:mod:`benchmarks.decode`
    Level-0 decode throughput against sentinel1decoder (``eoport bench decode``).
:mod:`benchmarks.baselines`
    Plain-numpy reference implementations of stripmap and TOPS focusing.

The ``bench_*.py`` scripts run these (and end-to-end measurements of the streaming chain)
from the command line: ``python -m benchmarks.bench_tops``.
"""
