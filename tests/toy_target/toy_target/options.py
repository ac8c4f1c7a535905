"""The toy target's own spec section, ``mlops-stack:toy``."""

from pydantic import BaseModel, ConfigDict, Field


class ToyOptions(BaseModel):
    """Toy-only settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rack: str = Field(default="r1", description="The rack the toy lab builds in.")
