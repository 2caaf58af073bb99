"""An agent shown worked examples: choose which requests to annotate, then retrieve the closest per step.

A support team has a backlog of unlabeled requests and time to label a few. Vote-k picks the few worth
labeling (diverse and representative); those, labeled, become a ``DemoPool``; a ``DemoSource`` shows
the agent the examples closest to each new request, under their own slice of the budget.

    python examples/demonstrations_agent.py ["a new request"]
"""

from __future__ import annotations

import sys
import tempfile

from _setup import model_client

from contextos import (
    Agent,
    Budget,
    Demonstration,
    DemoPool,
    DemoSource,
    Section,
    select_for_annotation,
)

BACKLOG = {
    "r1": "I was charged twice for my subscription this month",
    "r2": "The app crashes when I open the settings page",
    "r3": "How do I change the email address on my account?",
    "r4": "Please refund the duplicate payment on my card",
    "r5": "The export button does nothing on Firefox",
    "r6": "I forgot my password and the reset email never arrives",
    "r7": "Can I get an invoice for last year's payments?",
    "r8": "Search results load forever after the last update",
    "r9": "How do I delete my account and all my data?",
    "r10": "My card was declined but the money left my bank",
}
# What a person would write for the selected requests (all ten are prepared; only the selected are used).
LABELS = {
    "r1": ("billing", "Apologise, confirm the double charge, refund one payment within 5 days."),
    "r2": (
        "bug",
        "Ask for the app version and device, log a crash report, offer the web app meanwhile.",
    ),
    "r3": ("account", "Settings > Profile > Email; a confirmation link goes to the new address."),
    "r4": ("billing", "Confirm the duplicate, refund it to the card, share the refund reference."),
    "r5": ("bug", "Ask for the Firefox version, suggest Chrome meanwhile, log the bug."),
    "r6": ("account", "Check the spam folder, then send a reset link from the admin console."),
    "r7": ("billing", "Invoices are under Billing > History; send last year's as one PDF."),
    "r8": ("bug", "Acknowledge the regression, log it with the query, offer a workaround."),
    "r9": ("account", "Settings > Privacy > Delete account; data is erased within 30 days."),
    "r10": (
        "billing",
        "Explain the pending authorisation drops within 3 days; nothing was charged.",
    ),
}


def main() -> None:
    request = sys.argv[1] if len(sys.argv) > 1 else "I see two identical charges on my statement"
    to_label = select_for_annotation(BACKLOG, budget=5, method="votek", k=3)
    print(f"label these first (vote-k): {to_label}")
    with tempfile.TemporaryDirectory() as folder:
        pool = DemoPool(folder)
        pool.add(
            [
                Demonstration(id=i, input=BACKLOG[i], output=LABELS[i][1], label=LABELS[i][0])
                for i in to_label
            ]
        )
        demos = DemoSource(pool, k=2, section=Section(cap=300))
        agent = Agent(
            model_client(),
            instructions="You answer customer support requests. Follow the examples' style.",
            sources=[demos],
            budget=demos.within(Budget(context_window=4096, reserve_output=512)),
        )
        result = agent.run(request)
        shown = [
            i.metadata["demo_id"]
            for i in result.steps[0].context.items
            if i.source == "demonstrations"
        ]
        print(f"request: {request}")
        print(f"examples shown (closest last): {shown}")
        print(f"answer: {result.answer}")


if __name__ == "__main__":
    main()
