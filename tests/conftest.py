"""Fixtures shared by the test modules come from tests/kit, one module per kind."""

pytest_plugins = ["kit.postgres", "kit.dashboards", "kit.nginx", "kit.webservers", "kit.lakes"]
