"""An Agent counts as its model counts: the request it sends fits the budget in the model's own tokenizer."""

from __future__ import annotations

import warnings

from contextos import Budget, ContextItem, StaticSource, TiktokenCounter, TokenizerWarning
from contextos.agents import Agent
from contextos.context.tokens import load_encoding
from contextos.testing import Reply, ScriptedModel
from contextos.tools import Tool
from tests.context.helpers import openai_count

# Sentences written for this test (Devanagari costs far more tokens in cl100k than in o200k).
HINDI = [
    "मानसून के दौरान मुंबई में भारी बारिश होती है और कई सड़कों पर पानी भर जाता है।",
    "गंगा नदी हिमालय से निकलकर बंगाल की खाड़ी में मिलती है।",
    "दिल्ली में सर्दियों की सुबह अक्सर घना कोहरा छाया रहता है।",
    "राजस्थान के रेगिस्तान में दिन गर्म और रातें ठंडी होती हैं।",
    "किसान बुवाई से पहले मौसम विभाग की भविष्यवाणी ध्यान से सुनते हैं।",
    "केरल में दक्षिण-पश्चिम मानसून सबसे पहले जून की शुरुआत में पहुँचता है।",
    "पहाड़ी इलाकों में भूस्खलन का खतरा बारिश के मौसम में बढ़ जाता है।",
    "शहर की नगरपालिका ने नालों की सफाई का काम अप्रैल में शुरू किया।",
]


def hindi_documents(n: int = 12) -> StaticSource:
    docs = [
        ContextItem(
            id=f"doc-{i}",
            source="documents",
            score=0.5 + 0.03 * i,
            content=" ".join(HINDI[(i + k) % len(HINDI)] for k in range(6)),
        )
        for i in range(n)
    ]
    return StaticSource("documents", docs)


def rainfall(city: str) -> str:
    """Rainfall of the last 24 hours in a city, in millimetres."""
    return f"{city}: 42 mm"


def sent_request(counter=None) -> tuple[dict, Budget]:
    model = ScriptedModel([Reply.text("ठीक है।")], model="gpt-4-turbo")
    budget = Budget(context_window=1_800)
    agent = Agent(
        model,
        sources=[hindi_documents()],
        tools=[Tool.from_function(rainfall)],
        budget=budget,
        counter=counter,
    )
    agent.run("मुंबई में कल कितनी बारिश हुई? दस्तावेज़ों के आधार पर उत्तर दें।")
    request = model.requests[0]
    return {"messages": request.messages, "tools": request.tools or []}, budget


def test_a_gpt_4_turbo_agent_with_hindi_documents_fits_its_budget_in_cl100k():
    with warnings.catch_warnings():
        warnings.simplefilter("error", TokenizerWarning)  # a known model: no estimate, no warning
        request, budget = sent_request()
    cl100k = openai_count(load_encoding("cl100k_base"), request["messages"], request["tools"])
    # the budget is used, and never exceeded
    assert budget.available * 0.6 < cl100k <= budget.available
    assert "doc-" not in str(request) and "मानसून" in str(request)  # documents went in


def test_counted_with_o200k_the_same_agent_would_send_far_more_than_the_budget():
    # What this guards against: the counter every component used before, whatever the model.
    request, budget = sent_request(counter=TiktokenCounter(encoding="o200k_base"))
    assert (
        openai_count(load_encoding("cl100k_base"), request["messages"], request["tools"])
        > 1.5 * budget.available
    )
