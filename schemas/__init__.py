"""Marshmallow schemas: request validation (bodies, query arguments) and response shapes."""
