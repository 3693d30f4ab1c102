"""`python -m chapterhouse` is the CLI."""

from chapterhouse.cli import main

main()
