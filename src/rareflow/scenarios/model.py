"""A scenario: baseline data + policies + parameter overrides + start month + horizon."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rareflow.policies.instruments import Policy, check_month
from rareflow.scenarios.uncertainty import Uncertainty


class RecordedEvent(BaseModel):
    """An event kept on the record but outside the model (e.g. a ban on gallium)."""

    model_config = ConfigDict(extra="forbid")
    date: str
    description: str
    source: str = ""
    why_not_modelled: str = ""


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="Letters, digits, '.', '_' or '-' (it becomes part of the run id).",
    )
    description: str = ""
    sources: list[str] = Field(default_factory=list, description="Where its measures come from.")
    start: str = Field("2026-11", description="First simulated month, YYYY-MM.")
    months: int = Field(24, ge=1, le=600, description="Horizon in months.")
    parameters: dict[str, float] = Field(
        default_factory=dict, description="Overrides of the dataset's parameters table."
    )
    policies: list[Policy] = Field(default_factory=list)
    events: list[RecordedEvent] = Field(default_factory=list)
    uncertainty: Uncertainty = Field(
        default_factory=Uncertainty, description="Distributions for Monte Carlo runs."
    )

    _check_start = field_validator("start")(check_month)

    @model_validator(mode="before")
    @classmethod
    def _policies_start_with_the_scenario(cls, data: object) -> object:
        """A policy without ``start`` starts with the scenario (whose own default applies)."""
        if not isinstance(data, dict) or not isinstance(data.get("policies"), list):
            return data
        start = data.get("start", cls.model_fields["start"].default)
        policies = [
            {**p, "start": start} if isinstance(p, dict) and "start" not in p else p
            for p in data["policies"]
        ]
        return {**data, "policies": policies}

    @model_validator(mode="after")
    def _unique_ids(self) -> Scenario:
        seen: set[str] = set()
        for policy in self.policies:
            if policy.id in seen:
                raise ValueError(f"two policies share the id {policy.id!r}; ids must be unique")
            seen.add(policy.id)
        return self
