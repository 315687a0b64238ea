"""The web workbench and JSON API: thin handlers over the services."""
