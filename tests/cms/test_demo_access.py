"""manage.py demo_access: local only, every scope, never admin/admin in production."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from cms.models import ApiKey
from cms.models.api_keys import SCOPES

pytestmark = pytest.mark.django_db


def _run(tmp_path, *args) -> str:
    stdout = io.StringIO()
    call_command(
        "demo_access", "--key-file", str(tmp_path / "key"), *args, stdout=stdout
    )
    return stdout.getvalue()


def test_the_printed_key_carries_every_scope(tmp_path, settings):
    settings.DEBUG = True
    output = _run(tmp_path)
    key = re.search(r"API key: (\S+)", output).group(1)
    assert sorted(ApiKey.objects.get_from_key(key).scopes) == sorted(SCOPES)


def test_a_key_made_before_a_scope_existed_gets_it(tmp_path, settings):
    # given a demo key file whose key lacks readers:erase
    settings.DEBUG = True
    _, key = ApiKey.objects.create_key(name="old", scopes=["feed:read"])
    (tmp_path / "key").write_text(key)
    # when
    output = _run(tmp_path)
    # then
    assert key in output
    assert sorted(ApiKey.objects.get_from_key(key).scopes) == sorted(SCOPES)


def test_refused_under_production_settings(tmp_path, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        _run(tmp_path)
    assert not get_user_model().objects.exists()
    assert not ApiKey.objects.exists()


def test_forced_under_production_settings_never_uses_admin_admin(tmp_path, settings):
    settings.DEBUG = False
    output = _run(tmp_path, "--force")
    admin = get_user_model().objects.get(username="admin")
    assert not admin.check_password("admin")
    assert "admin / admin" not in output
