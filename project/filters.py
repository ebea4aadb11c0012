"""What the API's list endpoints share about django-filter FilterSets."""

from __future__ import annotations

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter


def filter_parameters(filterset: type[django_filters.FilterSet]) -> list[OpenApiParameter]:
    """The FilterSet's filters as documented query parameters: the schema follows the one filter."""
    types = {
        django_filters.BooleanFilter: OpenApiTypes.BOOL,
        # Empty means no bound, as a form's empty field does.
        django_filters.DateTimeFilter: {
            "anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "maxLength": 0}]
        },
    }
    return [
        OpenApiParameter(
            name,
            next((t for cls, t in types.items() if isinstance(spec, cls)), OpenApiTypes.STR),
            OpenApiParameter.QUERY,
            description=spec.extra.get("help_text", ""),
            # Empty means no filter, as a form's empty choice does.
            enum=["", *(value for value, _label in spec.extra["choices"])]
            if "choices" in spec.extra
            else None,
        )
        for name, spec in filterset.base_filters.items()
    ]
