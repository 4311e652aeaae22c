from dataward.cli import main

main()
