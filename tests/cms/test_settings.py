"""Settings come from the environment; production passes the deploy checks."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY"}
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy():
    # given: the variables a deployment sets
    result = _run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SETTINGS_MODULE="cms.settings.production",
        SECRET_KEY="x" * 20 + "a-long-random-production-secret-key-value-123",
        ALLOWED_HOSTS="cms.example.com",
    )
    # then
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_secret_key():
    result = _run_manage(
        "check",
        DJANGO_SETTINGS_MODULE="cms.settings.production",
        ALLOWED_HOSTS="cms.example.com",
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_environment_switches_database_and_broker():
    # given
    code = (
        "from django.conf import settings;"
        "print(settings.DATABASES['default']['ENGINE']);"
        "print(settings.Q_CLUSTER.get('redis'), settings.Q_CLUSTER.get('orm'));"
        "print(settings.Q_CLUSTER['timeout'] < settings.Q_CLUSTER['retry'])"
    )
    # when
    default = _run_manage("shell", "--no-imports", "-c", code)
    configured = _run_manage(
        "shell",
        "--no-imports",
        "-c",
        code,
        DATABASE_URL="postgres://u@127.0.0.1:5432/x",
        REDIS_URL="redis://127.0.0.1:6379/3",
    )
    # then
    assert default.stdout.split("\n")[:3] == [
        "django.db.backends.sqlite3",
        "None default",
        "True",
    ]
    assert configured.stdout.split("\n")[:3] == [
        "django.db.backends.postgresql",
        "redis://127.0.0.1:6379/3 None",
        "True",
    ]


def test_mail_goes_to_the_console_unless_a_mail_server_is_configured():
    # given / when
    code = "from django.conf import settings; print(settings.EMAIL_BACKEND)"
    default = _run_manage("shell", "--no-imports", "-c", code)
    configured = _run_manage(
        "shell", "--no-imports", "-c", code, EMAIL_HOST="smtp.example.com"
    )
    # then: no SMTP connection (and traceback) on a machine without a server
    assert default.stdout.strip() == "django.core.mail.backends.console.EmailBackend"
    assert configured.stdout.strip() == "django.core.mail.backends.smtp.EmailBackend"
