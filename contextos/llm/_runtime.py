"""The one place contextos imports litellm: lazily, offline, quiet, with the offline provider registered."""

from __future__ import annotations

import os
import threading
from types import ModuleType

_lock = threading.Lock()
_litellm: ModuleType | None = None


def load_litellm() -> ModuleType:
    """Import litellm once, configured so that it never reaches the network by itself.

    - ``LITELLM_LOCAL_MODEL_COST_MAP=True`` before import: litellm otherwise downloads its model
      cost map at import time (and retries in a background thread).
    - ``suppress_debug_info``: otherwise every exception prints a help banner to stdout.
    - telemetry and callbacks stay off; the ``offline`` custom provider is registered.
    """
    global _litellm
    if _litellm is not None:
        return _litellm
    with _lock:
        if _litellm is None:
            os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
            import litellm

            from contextos.llm._offline import PROVIDER, make_handler

            litellm.suppress_debug_info = True
            litellm.telemetry = False
            litellm.drop_params = False
            if not any(entry.get("provider") == PROVIDER for entry in litellm.custom_provider_map):
                litellm.custom_provider_map = [
                    *litellm.custom_provider_map,
                    {"provider": PROVIDER, "custom_handler": make_handler()},
                ]
            # litellm reads custom_provider_map on each call, but registers the provider name here.
            from litellm.utils import custom_llm_setup

            custom_llm_setup()
            _litellm = litellm
    return _litellm
