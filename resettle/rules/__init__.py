"""Pure functions: no database, no I/O. Each rule lives in exactly one place."""
