"""Inspection of finished conversions, engineer licences and engineer sign-offs."""
