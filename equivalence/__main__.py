"""`python -m equivalence` is the `equivalence` command."""

import sys

from equivalence.cli import main

sys.exit(main())
