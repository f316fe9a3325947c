"""One module per CLI subcommand: parse what it was given, call the services below, print (thin)."""
