"""``python -m cifar_edu`` is the same as the ``cifar-edu`` command."""

import sys

from cifar_edu.cli.main import main

sys.exit(main())
