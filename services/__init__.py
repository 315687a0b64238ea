"""Use cases: actor in, one transaction, audit event, plain data out."""
