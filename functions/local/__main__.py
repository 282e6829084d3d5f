from functions.local.server import main

main()
