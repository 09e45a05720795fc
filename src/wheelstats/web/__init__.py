"""What the package index (server/) and the dashboard share as web applications.

Templates that escape every value (templates), answers to conditional requests
(conditional) and running under uvicorn until a signal stops it (running).
Nothing here knows the store.
"""
