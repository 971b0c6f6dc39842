"""``python -m headspex.prune``: see :mod:`headspex.prune.cli`."""

from headspex.prune.cli import main

raise SystemExit(main())
