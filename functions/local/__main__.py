import sys

from functions.local.server import main

main(sys.argv[1:])
