"""`wheelstats serve`: a package index that counts its own downloads (see app.py)."""
