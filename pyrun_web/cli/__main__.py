import sys

from pyrun_web.cli import main

sys.exit(main())
