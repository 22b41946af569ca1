"""`python -m netcanvas …` does what the `netcanvas` console script does."""

import sys

from app.entry import main

sys.exit(main())
