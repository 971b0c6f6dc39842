"""``headspex`` (or ``python -m headspex``): one command for every tool; see :mod:`headspex.command`."""

from headspex.command import main

raise SystemExit(main())
