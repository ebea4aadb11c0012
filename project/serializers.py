"""The base of every request body's serializer: a field the endpoint does not take is an error.

DRF drops unknown fields silently, so a typo answered 200 having done nothing
(`PATCH /api/users/{id}/ {"active": false}` left the user active) or did more than asked
(`POST /api/reports/ {"filter": {...}}` reported every user). Here it is a 400 that names it, and
the OpenAPI schema says so (`additionalProperties: false`).
"""

from __future__ import annotations

from collections.abc import Mapping

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers


class StrictSerializer(serializers.Serializer):
    """Validates as DRF does, and refuses the fields it does not declare (nested ones too)."""

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, Mapping) else []
        message = f"Unknown field (the fields are: {', '.join(self.fields)})."
        errors = {name: [message] for name in unknown}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if errors and isinstance(exc.detail, dict):
                exc.detail.update(errors)
            raise
        if errors:
            raise serializers.ValidationError(errors)
        return value


class StrictSerializerSchema(OpenApiSerializerExtension):
    """Each such body's schema as drf-spectacular maps it, closed to other properties."""

    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": False}
