"""`wheelstats serve`: a package index that counts its own downloads."""

from wheelstats.server.app import ServeConfig, create_app, default_access_log, run

__all__ = ["ServeConfig", "create_app", "default_access_log", "run"]
