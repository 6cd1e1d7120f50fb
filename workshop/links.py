"""Addresses printed on paper or shown as QR codes: always under the configured
``PUBLIC_BASE_URL``, never the Host header of whichever request triggered them.

Outside production an unset ``PUBLIC_BASE_URL`` falls back to ``DEVELOPMENT_BASE_URL`` (the
address ``workshop run`` serves); in production it is a configuration error.
"""

from flask import current_app


class ConfigurationError(RuntimeError):
    """A setting production needs is missing; ``setting`` names it."""

    def __init__(self, setting: str, message: str):
        super().__init__(message)
        self.setting = setting


def is_production(config) -> bool:
    """True when the deployment runs as production (``WORKSHOP_ENV=production``)."""
    return str(config.get("WORKSHOP_ENV") or "").strip().lower() == "production"


def public_base_url(config=None) -> str:
    """The configured public address of the app, without a trailing slash."""
    config = config if config is not None else current_app.config
    base = (config.get("PUBLIC_BASE_URL") or "").strip()
    if not base:
        if is_production(config):
            raise ConfigurationError(
                "PUBLIC_BASE_URL",
                "PUBLIC_BASE_URL is not set: printed links and QR codes need the public address "
                "of the app (e.g. https://workshop.example.org)",
            )
        base = config.get("DEVELOPMENT_BASE_URL") or "http://127.0.0.1:5000"
    return base.rstrip("/")


def public_url(endpoint: str, **values) -> str:
    """The public address of ``endpoint`` (works inside and outside a request)."""
    adapter = current_app.url_map.bind("public.invalid", script_name="/")
    return public_base_url() + adapter.build(endpoint, values, force_external=False)
