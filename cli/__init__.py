"""The `resettle` command: thin, parses options, calls services, prints."""
