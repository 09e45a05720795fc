"""Importers: catalogues of builds and files, and whole piwheels deployments.

`builds` loads a CSV or JSON-lines catalogue of builds and files; `piwheels`
loads a piwheels database, from its CSV dump (`piwheels_dump`) or straight from
PostgreSQL (`piwheels_postgres`). Both write the store's tables in one
transaction, so a failed import leaves the store as it was.
"""
