"""``python -m eoport`` runs the command line."""

from eoport.cli import main

raise SystemExit(main())
