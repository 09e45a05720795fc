from wheelstats.cli import app

app(prog_name="wheelstats")
