"""No call leaves the machine: importing litellm through contextos and calling models opens no outside socket."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.conftest import ROOT

GUARDED_RUN = textwrap.dedent(
    """
    import asyncio, json, socket, sys, time

    blocked = []
    LOCAL = ("127.0.0.1", "::1", "localhost")
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in LOCAL and self.family != socket.AF_UNIX:
            blocked.append(f"connect {address}")
            raise OSError(f"test guard: connection to {address} refused")
        return real_connect(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host not in LOCAL and host is not None:
            blocked.append(f"getaddrinfo {host}")
            raise socket.gaierror(f"test guard: no DNS for {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect
    socket.getaddrinfo = getaddrinfo

    from contextos import ModelClient
    from contextos.testing import FakeModelServer, Reply

    results = {}
    with FakeModelServer() as server:
        server.enqueue(Reply.text("sync ok"), Reply.text("async ok"), Reply.text("stream ok"), Reply.text("router ok"))
        client = ModelClient("hosted_vllm/fake-model", api_base=server.api_base, timeout=5)
        messages = [{"role": "user", "content": "hi"}]
        results["sync"] = client.complete(messages).content

        async def run():
            results["async"] = (await client.acomplete(messages)).content
            stream = client.astream(messages)
            results["stream"] = "".join([d async for d in stream])
            results["offline"] = (await ModelClient("offline/demo").acomplete(messages)).offline
            import litellm

            router = litellm.Router(model_list=[{"model_name": "m", "litellm_params": {
                "model": "hosted_vllm/fake-model", "api_base": server.api_base}}], num_retries=0)
            results["router"] = (await ModelClient.over_router(router, "m").acomplete(messages)).content

        asyncio.run(run())
        time.sleep(1.0)  # give any background fetch (litellm's cost map) time to try
    offline_leaks = list(blocked)
    try:  # the guard itself must catch an outside connection, or this test proves nothing
        socket.socket().connect(("203.0.113.7", 80))
    except OSError:
        pass
    print(json.dumps({"results": results, "leaks": offline_leaks, "guard_caught": blocked[len(offline_leaks):]}))
    """
)


def test_no_connection_leaves_the_machine() -> None:
    run = subprocess.run(
        [sys.executable, "-c", GUARDED_RUN],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": "/tmp"},
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["results"] == {
        "sync": "sync ok",
        "async": "async ok",
        "stream": "stream ok",
        "offline": True,
        "router": "router ok",
    }
    assert report["leaks"] == []
    assert report["guard_caught"] == ["connect ('203.0.113.7', 80)"]


def test_importing_contextos_does_not_import_litellm() -> None:
    code = "import sys, contextos; from contextos import ModelClient; from contextos.testing import FakeModelServer; print('litellm' in sys.modules)"
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert run.stdout.strip() == "False", run.stderr
