"""Development tools of the project (not shipped in the package)."""
