"""WSGI entry point for gunicorn: ``gunicorn workshop.wsgi:app``."""

from workshop import create_app

app = create_app()

# Compile every template now: ``workshop serve`` imports this module once in gunicorn's master
# (--preload) and forks its workers from it, so a worker (and each one that replaces a recycled
# worker) starts with the compiled templates instead of compiling them on its first pages.
for _name in app.jinja_env.list_templates(extensions=("html",)):
    app.jinja_env.get_template(_name)
