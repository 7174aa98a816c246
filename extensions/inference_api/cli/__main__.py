"""`python -m inference_api.cli`: the same command line as `inference-api`."""

import sys

from . import main

sys.exit(main())
