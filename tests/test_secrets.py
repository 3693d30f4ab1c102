"""Secrets: Redis AUTH and TLS work, and passwords from the URLs are shown nowhere.

Each Redis here is a real redis-server the test starts on a free loopback port.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from redis import Redis
from redis.connection import SSLConnection
from redis.exceptions import ConnectionError as RedisConnectionError

from chapterhouse.config import Settings, redact
from chapterhouse.logs import configure_logging
from chapterhouse.services import Runtime
from tests.api import MOTHER_OF_LEARNING, QUEUE_KEY, api_client
from tests.conftest import run_cli, settings_env
from tests.test_dashboard import free_port

REDIS_PASSWORD = "redis-Pa55word-Zq9"
PG_PASSWORD = "pg-Pa55word-Xk7"
WRONG_PASSWORD = "wrong-Pa55word-Vb2"
SECRETS = (REDIS_PASSWORD, PG_PASSWORD, WRONG_PASSWORD)

needs_redis_server = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server is not installed"
)


def assert_no_secret(text: str) -> None:
    """None of the test passwords appears in `text`."""
    for secret in SECRETS:
        assert secret not in text, f"{secret} leaked into: {text[:2000]}"


@contextmanager
def redis_server(tmp_path: Path, *args: str, tls: bool = False) -> Iterator[int]:
    """A redis-server of our own on a free loopback port (TLS only, when `tls`)."""
    port = free_port()
    ports = ["--port", "0", "--tls-port", str(port)] if tls else ["--port", str(port)]
    command = ["redis-server", *ports, "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)]
    process = subprocess.Popen(
        [*command, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            assert process.poll() is None, "redis-server did not start"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not listen"
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def write_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate it signed for 127.0.0.1: (ca, cert, key) files."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "chapterhouse test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = (folder / "ca.pem", folder / "server.pem", folder / "server.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@needs_redis_server
def test_redis_with_a_password_works_and_a_wrong_one_is_never_shown(
    settings: Settings, tmp_path: Path
) -> None:
    with redis_server(tmp_path, "--requirepass", REDIS_PASSWORD) as port:
        good = settings.model_copy(
            update={"redis_url": f"redis://:{REDIS_PASSWORD}@127.0.0.1:{port}/0"}
        )
        with api_client(good) as client:
            assert client.post("/ingest", json={"url": MOTHER_OF_LEARNING}).status_code == 202
            assert client.get("/health").json()["checks"]["redis"] == "ok"
        queue = Redis(host="127.0.0.1", port=port, password=REDIS_PASSWORD)
        assert queue.lrange(QUEUE_KEY, 0, -1) == [b"ingest-1"]
        queue.close()

        bad = settings.model_copy(
            update={"redis_url": f"redis://:{WRONG_PASSWORD}@127.0.0.1:{port}/0"}
        )
        with api_client(bad) as client:
            refused = client.post("/ingest", json={"url": "https://www.royalroad.com/fiction/99"})
            health = client.get("/health")
        assert refused.status_code == 503 and "Redis" in refused.json()["detail"]
        assert health.status_code == 503
        doctor = run_cli(bad, "doctor", "--probe-timeout", "1", timeout=60)
    assert doctor.returncode == 1
    assert f"redis: no answer at redis://:***@127.0.0.1:{port}/0" in doctor.stdout
    for text in (refused.text, health.text, doctor.stdout, doctor.stderr):
        assert_no_secret(text)


@needs_redis_server
def test_rediss_urls_connect_over_tls(settings: Settings, tmp_path: Path) -> None:
    ca, cert, key = write_certificates(tmp_path)
    tls = (
        *("--tls-cert-file", str(cert), "--tls-key-file", str(key)),
        *("--tls-ca-cert-file", str(ca), "--tls-auth-clients", "no"),
        *("--requirepass", REDIS_PASSWORD),
    )
    with redis_server(tmp_path, *tls, tls=True) as port:
        url = f"rediss://:{REDIS_PASSWORD}@127.0.0.1:{port}/0?ssl_ca_certs={ca}"
        over_tls = settings.model_copy(update={"redis_url": url})
        runtime = Runtime(over_tls)
        try:
            assert runtime.redis.ping() is True
            assert runtime.redis.connection_pool.connection_class is SSLConnection
        finally:
            runtime.close()
        with api_client(over_tls) as client:
            assert client.post("/ingest", json={"url": MOTHER_OF_LEARNING}).status_code == 202
            assert client.get("/queue").json()["counts"]["queued"] == 1
        doctor = run_cli(over_tls, "doctor", "--probe-timeout", "1", timeout=60)
        # The same port without TLS does not answer: the traffic above was encrypted.
        plain = Redis(host="127.0.0.1", port=port, password=REDIS_PASSWORD, socket_timeout=3)
        with pytest.raises(RedisConnectionError):
            plain.ping()
        plain.close()
    assert f"✓ redis: answers at rediss://:***@127.0.0.1:{port}/0" in doctor.stdout
    assert_no_secret(doctor.stdout + doctor.stderr)


@pytest.fixture
def down(settings: Settings) -> Settings:
    """Both URLs with passwords, both services on closed ports."""
    return settings.model_copy(
        update={
            "database_url": f"postgresql://postgres:{PG_PASSWORD}@127.0.0.1:{free_port()}/x",
            "redis_url": f"redis://:{REDIS_PASSWORD}@127.0.0.1:{free_port()}/0",
        }
    )


def test_no_password_in_doctor_cli_errors_or_api_answers(down: Settings) -> None:
    doctor = run_cli(down, "doctor", timeout=60)
    assert doctor.returncode == 1
    assert "redis: no answer at redis://:***@" in doctor.stdout
    assert "database: unreachable at postgresql+psycopg://postgres:***@" in doctor.stdout
    ingest = run_cli(down, "ingest", MOTHER_OF_LEARNING, timeout=60)
    assert ingest.returncode == 1 and "error:" in ingest.stderr
    queue = run_cli(down, "queue", timeout=60)
    assert queue.returncode == 1 and "Redis" in queue.stderr
    with api_client(down) as client:
        answers = [
            client.post("/ingest", json={"url": MOTHER_OF_LEARNING}),
            client.get("/health"),
            client.get("/queue"),
            client.get("/novels"),
        ]
    assert [a.status_code for a in answers] == [503, 503, 503, 503]
    for text in (doctor.stdout, doctor.stderr, ingest.stderr, queue.stderr):
        assert_no_secret(text)
    for answer in answers:
        assert_no_secret(answer.text)
    assert_no_secret(repr(down))


def test_no_password_in_the_logs_of_a_failing_api(down: Settings, tmp_path: Path) -> None:
    port = free_port()
    env = settings_env(down) | {"CHAPTERHOUSE_LOG_LEVEL": "DEBUG"}
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        api = subprocess.Popen(
            [sys.executable, "-m", "chapterhouse", "serve", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert api.poll() is None, log.read_text()
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        assert httpx.post(f"{base}/ingest", json={"url": MOTHER_OF_LEARNING}).status_code == 503
        assert httpx.get(f"{base}/novels").status_code == 503
    finally:
        os.killpg(api.pid, signal.SIGTERM)
        api.wait(timeout=30)
    text = log.read_text()
    assert "the database is unavailable" in text or "database error" in text
    assert_no_secret(text)


def test_a_log_line_carrying_a_url_or_key_is_redacted(
    down: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    # Libraries log what they like (Scrapy's settings dump at DEBUG holds REDIS_URL): the
    # handler itself redacts every line, tracebacks included.
    keyed = down.model_copy(update={"api_keys": "api-key-Qw8Er7Ty6", "log_level": "DEBUG"})
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging(keyed)
    try:
        logger = logging.getLogger("some.library")
        logger.info("connecting to %s and %s", keyed.redis_url, keyed.database_url)
        try:
            raise ValueError(f"bad key api-key-Qw8Er7Ty6 for {keyed.database_url}")
        except ValueError:
            logger.exception("failed")
    finally:
        root.handlers[:], root.level = saved
    written = capsys.readouterr().err
    assert "connecting to redis://:***@127.0.0.1:" in written
    assert "ValueError: bad key *** for postgresql://postgres:***@127.0.0.1:" in written
    assert_no_secret(written)
    assert "api-key-Qw8Er7Ty6" not in written


def test_redact_catches_every_spelling_of_a_password() -> None:
    settings = Settings(
        database_url="postgresql://me:p%40ss-word-1@db/x",
        redis_url="redis://h:6379/0?password=q-pass-word-2",
    )
    text = (
        "postgresql://me:p%40ss-word-1@db/x p@ss-word-1 redis://h:6379/0?password=q-pass-word-2 "
        "rediss://default:other-secret@h/0"
    )
    redacted = redact(text, settings)
    for secret in ("p%40ss-word-1", "p@ss-word-1", "q-pass-word-2", "other-secret"):
        assert secret not in redacted
    assert "postgresql://me:***@db/x" in redacted
    assert "rediss://default:***@h/0" in redacted
