"""Shared by the examples: the model to use. A real one when CONTEXTOS_MODEL is set (with
CONTEXTOS_API_BASE for a vLLM server), else the offline backend, said out loud."""

from __future__ import annotations

import os

from contextos.llm import ModelClient


def model_client() -> ModelClient:
    if os.environ.get("CONTEXTOS_MODEL"):
        client = ModelClient.from_config()
        print(f"model: {client.model}")
        return client
    print(
        "No CONTEXTOS_MODEL set: using the offline backend (offline/examples), which is not a language model."
    )
    return ModelClient("offline/examples")
