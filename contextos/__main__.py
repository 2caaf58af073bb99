from contextos.cli.main import main

main()
