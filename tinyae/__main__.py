"""``python -m tinyae`` runs the command-line interface."""

from tinyae.cli import main

raise SystemExit(main())
