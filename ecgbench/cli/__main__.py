from ecgbench.cli import main

main()
