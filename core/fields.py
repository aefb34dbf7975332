"""Facts about model fields that services check input against."""

from django.db import models


def max_length(model: type[models.Model], field_name: str) -> int:
    """Return the max_length of a model's field; raise TypeError if the field has none."""
    length = getattr(model._meta.get_field(field_name), "max_length", None)
    if not isinstance(length, int):
        raise TypeError(f"{model.__name__}.{field_name} has no max_length")
    return length
