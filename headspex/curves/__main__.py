"""``python -m headspex.curves``: whole-model pruning curves (see :mod:`headspex.curves.cli`)."""

import sys

from headspex.curves.cli import main

sys.exit(main())
