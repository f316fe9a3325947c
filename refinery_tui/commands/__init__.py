"""One module per CLI subcommand (parse what it was given, call the services below, print), plus what they share
as plain helpers, never as each other's libraries: `outcome.py` (exit codes, the usage error), `report.py`."""
