"""`python -m inference_api`: the same command line as `inference-api`."""

import sys

from .cli import main

sys.exit(main())
