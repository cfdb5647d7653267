from earlywarn.cli import main

main()
