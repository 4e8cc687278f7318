import sys

from planexe_pipeline.cli import main

sys.exit(main())
