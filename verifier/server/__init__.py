"""The online verification service: Flask API and the clerk's page (the `server` extra)."""
