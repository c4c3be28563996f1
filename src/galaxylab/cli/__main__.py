"""``python -m galaxylab.cli``: the same as the ``galaxylab`` console script."""

from galaxylab.cli import main

main()
