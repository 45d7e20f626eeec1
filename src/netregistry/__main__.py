from netregistry.cli import app

app()
