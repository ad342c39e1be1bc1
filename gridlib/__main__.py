"""`python -m gridlib <command>`: see `gridlib.cli`."""

from .cli import main

main()
