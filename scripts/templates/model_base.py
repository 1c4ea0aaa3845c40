"""The base of every generated model (copied verbatim by scripts/generate.py; datamodel-codegen's `base-class`).

JSON Schema's `integer` is a number without a fractional part, so `3.0` is an integer and a client may send it
(Python's `json.dumps(3.0)` does). The models keep integers strict — `"3"` and `true` are refused, as the spec
says — and only turn an integral float into the int it equals before validation.
"""

from __future__ import annotations

import types
from typing import Any, ClassVar, Union, get_args, get_origin

from pydantic import BaseModel, model_validator


def _is_integer(annotation: Any) -> bool:
    if annotation is int:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return any(arg is int for arg in get_args(annotation))
    return False


class ContractModel(BaseModel):
    # The wire names of the model's integer fields, found once per class.
    _integer_keys: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._integer_keys = frozenset(
            key
            for name, field in cls.model_fields.items()
            if _is_integer(field.annotation)
            for key in {name, field.alias or name}
        )

    @model_validator(mode="before")
    @classmethod
    def _integral_floats_are_integers(cls, data: Any) -> Any:
        if not cls._integer_keys or not isinstance(data, dict):
            return data
        changed = {
            key: int(value)
            for key in cls._integer_keys & data.keys()
            if isinstance(value := data[key], float) and value.is_integer()
        }
        return {**data, **changed} if changed else data
