import sys

from segsim.cli import main

sys.exit(main())
