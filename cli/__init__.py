"""The `kapman` command line: parses flags, configures logging, calls one service."""
