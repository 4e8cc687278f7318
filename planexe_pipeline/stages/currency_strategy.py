"""CurrencyStrategy: the currency the budget is kept in, and how exchange risk is handled."""

from __future__ import annotations

from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.llm.schema_rules import bounded
from planexe_pipeline.stages.markdown import user_prompt, document, heading, table


class CurrencyUse(BaseModel):
    currency: str = Field(description="ISO 4217 code, e.g. EUR, DKK, USD.")
    used_for: str = Field(description="What is paid or earned in this currency.")


class CurrencyPlan(BaseModel):
    primary_currency: str = Field(description="ISO 4217 code of the currency the budget is kept in.")
    reason: str = Field(description="Why this currency: where costs fall, where money comes from, how stable it is.")
    other_currencies: list[CurrencyUse] = Field(description="At most three other currencies the plan touches; empty if none.",
                                                json_schema_extra=bounded(3, soft=True))
    exchange_rate_risk: str = Field(description="How exposed the budget is to exchange-rate moves.")
    risk_handling: str = Field(description="How to limit that exposure: contracts, hedging, buffers.")


SYSTEM_PROMPT = """You choose the currency a project's budget is kept in.
Look at where the money is spent and where it comes from. Pick one primary currency (ISO 4217
code), list other currencies the plan touches and what they pay for, judge the exchange-rate
exposure and say how to limit it. A plan within one country usually needs only its currency."""


def execute(llm: LLMExecutor, plan: str, locations_md: str) -> CurrencyPlan:
    return llm.structured(CurrencyPlan, SYSTEM_PROMPT, user_prompt(plan=plan, physical_locations=locations_md))


def to_markdown(result: CurrencyPlan) -> str:
    others = table(["Currency", "Used for"], [[c.currency, c.used_for] for c in result.other_currencies])
    return document(
        "Currency Strategy",
        table(["", ""], [["Primary currency", result.primary_currency], ["Exchange-rate risk", result.exchange_rate_risk]]),
        result.reason,
        heading("Other currencies", 3) + "\n\n" + others,
        heading("Handling exchange-rate risk", 3) + "\n\n" + result.risk_handling,
    )
