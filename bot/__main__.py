"""`python -m bot` is the same as `ajil`."""

import sys

from bot.cli import main

sys.exit(main())
