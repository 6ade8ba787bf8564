import sys

from pyrun_cli import main

sys.exit(main())
