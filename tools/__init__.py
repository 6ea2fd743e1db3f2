"""Developer tools run through the Makefile (packaging)."""
