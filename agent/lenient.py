"""Reading what an upstream sends leniently: a field that does not fit is unknown, not an error.

Shared by the model catalog and the key information; pydantic models with these field types
keep what they can read of a body and say ``None`` for the rest.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, ValidationError, ValidatorFunctionWrapHandler, WrapValidator

__all__ = ["Lenient", "LenientBool", "LenientFloat", "LenientInt", "LenientStr", "or_none"]


def or_none(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Lenient field: a value that does not fit becomes ``None`` (unknown) instead of an error."""
    try:
        return handler(value)
    except ValidationError:
        return None


LenientInt = Annotated[int | None, WrapValidator(or_none)]
LenientStr = Annotated[str | None, WrapValidator(or_none)]
LenientFloat = Annotated[float | None, WrapValidator(or_none)]
LenientBool = Annotated[bool | None, WrapValidator(or_none)]


class Lenient(BaseModel):
    """A model that ignores fields it does not know (upstreams add fields all the time)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
