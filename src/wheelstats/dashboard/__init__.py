"""The stats dashboard, its JSON API and README badges, served from the store's rollups."""
