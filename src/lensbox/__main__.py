from lensbox.cli import main

main()
