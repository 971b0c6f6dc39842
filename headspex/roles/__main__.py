"""``python -m headspex.roles``: head roles of a model (see :mod:`headspex.roles.cli`)."""

import sys

from headspex.roles.cli import main

sys.exit(main())
