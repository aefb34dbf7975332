"""Run the inference client's command line."""

import sys

from inference_client.cli import main

sys.exit(main())
