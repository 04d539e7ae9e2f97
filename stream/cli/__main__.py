"""``python -m stream.cli``: how child processes run ``tapewatch`` with this interpreter."""

from stream.cli import main

main()
