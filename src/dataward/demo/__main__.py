"""``python -m dataward.demo`` (what ``make demo`` runs)."""

from dataward.demo.runner import main

main()
