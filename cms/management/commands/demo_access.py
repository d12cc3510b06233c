"""manage.py demo_access: the local admin user and an all-scopes API key."""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from cms.models import ApiKey
from cms.models.api_keys import SCOPES

DEMO_KEY_NAME = "demo (make run)"


class Command(BaseCommand):
    help = (
        "Create (once) the local admin user and an API key with every scope, and "
        "print both. The key is kept in .demo/api-key so later runs reprint it "
        "instead of creating another. Refused when DEBUG is off (production "
        "settings) unless --force; even then the password is never the default."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default="admin")
        parser.add_argument(
            "--key-file",
            default=str(Path(settings.BASE_DIR) / ".demo" / "api-key"),
            help="Where the plain key is kept between runs (git-ignored).",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with DEBUG off (a production-like deployment).",
        )

    def handle(
        self,
        *args,
        username: str,
        password: str,
        key_file: str,
        force: bool,
        **options,
    ):
        if not settings.DEBUG:
            if not force:
                raise CommandError(
                    "demo_access makes a superuser and an all-scopes key for local "
                    "development; DEBUG is off here. Use createsuperuser and the "
                    "admin's API keys, or pass --force."
                )
            if password == "admin":
                # A well-known login must never exist on a reachable deployment.
                password = secrets.token_urlsafe(18)
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is None:
            user_model.objects.create_superuser(
                username=username, email=f"{username}@example.com", password=password
            )
            self.stdout.write(f"Admin user created: {username} / {password}")
        else:
            self.stdout.write(f"Admin user: {username} (password unchanged)")

        key = self._key_from_file(Path(key_file))
        if key is not None:
            # A key made before a scope existed gets it: this key has every scope.
            ApiKey.objects.filter(prefix=key.partition(".")[0]).update(
                scopes=list(SCOPES)
            )
        if key is None:
            _, key = ApiKey.objects.create_key(name=DEMO_KEY_NAME, scopes=list(SCOPES))
            path = Path(key_file)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(key + "\n", encoding="utf-8")
            path.chmod(0o600)
        self.stdout.write(f"Admin login: {settings.WAGTAILADMIN_BASE_URL}/admin/")
        self.stdout.write(f"API key: {key}")
        self.stdout.write("Send it as the header  Authorization: Api-Key <key>")

    def _key_from_file(self, path: Path) -> str | None:
        if not path.exists():
            return None
        key = path.read_text(encoding="utf-8").strip()
        return key if key and ApiKey.objects.is_valid(key) else None
