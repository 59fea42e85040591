"""One module per command-line command (see core/__main__.py)."""
