"""``python -m neuro_av`` is the ``neuro-av`` command."""
import sys

from neuro_av.cli.main import main

sys.exit(main())
