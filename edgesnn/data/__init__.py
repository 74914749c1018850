"""Data sets the tools, demos and tests use: the digits split and its domain shifts."""
