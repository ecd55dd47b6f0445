from modelops.cli import main

main()
