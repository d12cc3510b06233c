"""Project endpoints of the recommend app, mounted under /api/v1/."""

urlpatterns: list = []
