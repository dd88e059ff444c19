"""Workers against a secured node: `./raftoral node` with TLS (certificates of `raftoral certs
init`) and a tokens file (`raftoral token create`). A worker with the CA and a worker token runs
workflows; without a token it stops with Unauthenticated, with a reader token with
PermissionDenied; plaintext against the TLS port never registers. The option handling (env vars,
metadata) is tested without a node."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from worker_support import NO_GRPC_REASON

grpc = pytest.importorskip("grpc", reason=NO_GRPC_REASON)

from raftoral import InvalidArgument, PermissionDenied, Unauthenticated  # noqa: E402
from raftoral.worker import Worker, WorkflowContext  # noqa: E402
from raftoral.worker.__main__ import main as cli_main  # noqa: E402
from raftoral.worker._pb import client_api_pb2 as capi  # noqa: E402
from raftoral.worker._pb import client_api_pb2_grpc as capi_grpc  # noqa: E402

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
REPO = PACKAGE_ROOT.parent
RAFTORAL = REPO / "raftoral"
sys.path.insert(0, str(PACKAGE_ROOT / "tests"))
from cluster import free_ports, wait_until  # noqa: E402


def _node_unavailable() -> str | None:
    if not (REPO / "examples" / "target" / "classes").is_dir() or not (REPO / "examples" / "target" / "classpath.txt").is_file():
        return "the node is not built (see test_node_integration.py)"
    return None


_REASON = _node_unavailable()
needs_node = pytest.mark.skipif(_REASON is not None, reason=_REASON or "")


def greet(ctx: WorkflowContext, name: str) -> Any:
    return ctx.checkpoint("greeting", f"hello {name}")


# ---- without a node ----


def test_options_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RAFTORAL_TLS_CA", str(tmp_path / "ca.pem"))
    monkeypatch.setenv("RAFTORAL_TOKEN", "rft_0000abcd_secret")
    worker = Worker("127.0.0.1:9001")
    assert worker.tls_ca == str(tmp_path / "ca.pem") and worker.uses_tls
    assert worker._metadata() == (("authorization", "Bearer rft_0000abcd_secret"),)
    explicit = Worker("127.0.0.1:9001", tls_ca=tmp_path / "other.pem", token="rft_1_x")
    assert explicit.tls_ca == str(tmp_path / "other.pem")
    assert explicit._metadata() == (("authorization", "Bearer rft_1_x"),)


def test_plaintext_without_a_token_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAFTORAL_TLS_CA", raising=False)
    monkeypatch.delenv("RAFTORAL_TOKEN", raising=False)
    worker = Worker("127.0.0.1:9001")
    assert not worker.uses_tls and worker._metadata() is None


def test_bad_security_options_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("RAFTORAL_TOKEN", raising=False)
    with pytest.raises(InvalidArgument, match="tls_cert and tls_key"):
        Worker("127.0.0.1:9001", tls_cert=tmp_path / "c.pem")
    with pytest.raises(InvalidArgument, match="token"):
        Worker("127.0.0.1:9001", token=" ")
    worker = Worker("127.0.0.1:9001", tls_ca=tmp_path / "missing.pem")
    worker.register_workflow("greet", 1, greet)
    with pytest.raises(InvalidArgument, match="cannot be read"):
        worker.run(handle_signals=False)


def test_cli_takes_tls_and_token_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_run(self: Worker, target: str | None = None, **_: Any) -> None:
        seen.update(tls_ca=self.tls_ca, metadata=self._metadata(), target=target)

    monkeypatch.setattr(Worker, "run", fake_run)
    monkeypatch.setattr(sys.modules[__name__], "WORKFLOWS", [_marked_greet], raising=False)
    assert cli_main(["--target", "127.0.0.1:9001", "--tls-ca", "/ca.pem", "--token", "rft_2_y",
                     f"{__name__}:WORKFLOWS"]) == 0
    assert seen == {"tls_ca": "/ca.pem", "metadata": (("authorization", "Bearer rft_2_y"),), "target": "127.0.0.1:9001"}


from raftoral.worker import workflow as _workflow  # noqa: E402

_marked_greet = _workflow("greet", 1)(greet)


# ---- against a secured node ----


class SecureNode:
    def __init__(self, tmp: Path) -> None:
        certs = tmp / "certs"
        subprocess.run([str(RAFTORAL), "certs", "init", str(certs)], check=True, capture_output=True, timeout=180)
        self.ca = str(certs / "ca.pem")
        self.client_cert, self.client_key = str(certs / "client.pem"), str(certs / "client-key.pem")  # OU=operator
        tokens = tmp / "tokens"
        self.tokens = {role: self._token(role, tokens) for role in ("worker", "reader", "operator")}
        raft, api, worker = free_ports(3)
        self.api = f"127.0.0.1:{api}"
        self.worker_address = f"127.0.0.1:{worker}"
        self.log = tmp / "node.log"
        self._log = open(self.log, "wb")
        self.process = subprocess.Popen(
            [str(RAFTORAL), "node", "--bootstrap", "--in-memory", "--raft-address", f"127.0.0.1:{raft}",
             "--api-address", self.api, "--worker-listen", self.worker_address,
             "--tls-cert", str(certs / "node.pem"), "--tls-key", str(certs / "node-key.pem"), "--tls-ca", self.ca,
             "--auth-tokens", str(tokens)],
            stdout=self._log, stderr=subprocess.STDOUT)
        with open(self.ca, "rb") as f:
            self.channel = grpc.secure_channel(self.api, grpc.ssl_channel_credentials(root_certificates=f.read()))
        self.client = capi_grpc.RaftoralApiStub(self.channel)
        self.metadata = (("authorization", f"Bearer {self.tokens['operator']}"),)

    @staticmethod
    def _token(role: str, file: Path) -> str:
        out = subprocess.run([str(RAFTORAL), "token", "create", "--role", role, "--file", str(file)], check=True,
                             capture_output=True, text=True, timeout=180)
        return out.stdout.strip().splitlines()[-1]

    def start(self, type: str, input: Any, workflow_id: str) -> str:
        def attempt() -> str | None:
            try:
                return self.client.Start(capi.StartRequest(type=type, version=1, input=json.dumps(input).encode(),
                                                           workflow_id=workflow_id),
                                         metadata=self.metadata, timeout=30).workflow_id
            except grpc.RpcError as e:
                if e.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    return None
                raise

        return wait_until(attempt, 120, f"the start of {workflow_id} ({self.log})", interval=0.5)

    def await_outcome(self, workflow_id: str) -> capi.WorkflowOutcome:
        return self.client.Await(capi.AwaitRequest(workflow_id=workflow_id, timeout_millis=120_000),
                                 metadata=self.metadata, timeout=130)

    def close(self) -> None:
        self.channel.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureNode]:
    if _REASON is not None:
        pytest.skip(_REASON)
    n = SecureNode(tmp_path_factory.mktemp("secure-node"))
    yield n
    n.close()


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAFTORAL_TLS_CA", raising=False)
    monkeypatch.delenv("RAFTORAL_TOKEN", raising=False)


@needs_node
def test_a_worker_with_the_ca_and_a_worker_token_runs_workflows(node: SecureNode) -> None:
    worker = Worker(node.worker_address, tls_ca=node.ca, token=node.tokens["worker"], reconnect_delay=0.2)
    worker.register_workflow("py-secure-greet", 1, greet)
    worker.start()
    try:
        assert worker.wait_registered(120), f"the worker did not register ({node.log})"
        node.start("py-secure-greet", "ada", "secure-1")
        done = node.await_outcome("secure-1")
        assert done.info.status == capi.COMPLETED, done
        assert json.loads(done.result) == "hello ada"
    finally:
        worker.stop()
        worker.join(30)


def _refused(node: SecureNode, **options: Any) -> BaseException:
    worker = Worker(node.worker_address, tls_ca=node.ca, reconnect_delay=0.2, **options)
    worker.register_workflow("py-secure-refused", 1, greet)
    worker.start()
    try:
        worker._background.join(120)  # type: ignore[union-attr]
        assert not worker._background.is_alive(), "the refused worker kept retrying"  # type: ignore[union-attr]
    finally:
        worker.stop()
    error = worker._background_error
    assert error is not None
    with pytest.raises(type(error)):
        worker.join(1)
    return error


@needs_node
def test_a_worker_without_a_token_stops_unauthenticated(node: SecureNode) -> None:
    error = _refused(node)
    assert isinstance(error, Unauthenticated), error
    assert "UNAUTHENTICATED" in str(error) and "token" in str(error)


@needs_node
def test_a_worker_with_a_wrong_token_stops_unauthenticated(node: SecureNode) -> None:
    error = _refused(node, token="rft_00000000_" + "0" * 43)
    assert isinstance(error, Unauthenticated), error


@needs_node
def test_a_worker_with_a_reader_token_stops_permission_denied(node: SecureNode) -> None:
    error = _refused(node, token=node.tokens["reader"])
    assert isinstance(error, PermissionDenied), error
    assert "PERMISSION_DENIED" in str(error) and "role worker" in str(error)


@needs_node
def test_plaintext_against_the_tls_port_never_registers_and_says_why(node: SecureNode,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    worker = Worker(node.worker_address, token=node.tokens["worker"], reconnect_delay=0.2, max_reconnect_delay=0.5)
    worker.register_workflow("py-secure-plain", 1, greet)
    with caplog.at_level(logging.WARNING, logger="raftoral.worker"):
        worker.start()
        try:
            assert not worker.wait_registered(5)
            wait_until(lambda: any("TLS" in r.getMessage() for r in caplog.records), 30, "a warning naming TLS")
        finally:
            worker.stop()
            worker.join(30)


@needs_node
def test_a_client_certificate_of_another_role_is_permission_denied(node: SecureNode) -> None:
    # raftoral certs init's client certificate is an operator's: TLS with it works, the role does not.
    error = _refused(node, tls_cert=node.client_cert, tls_key=node.client_key)
    assert isinstance(error, PermissionDenied), error
