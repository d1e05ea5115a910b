from afterdesk.cli import main

main()
