import sys

from riskmon.cli.commands import main

sys.exit(main())
