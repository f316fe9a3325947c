"""Importers that turn other tools\x27 project formats into refinery-tui projects."""
