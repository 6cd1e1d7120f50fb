"""WSGI entry point for gunicorn: ``gunicorn workshop.wsgi:app``."""

from workshop import create_app

app = create_app()
