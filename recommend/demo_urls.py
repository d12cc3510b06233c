"""URL of the reader demo page (mounted at /demo/)."""

from django.urls import path

from recommend.demo import reader_demo

urlpatterns = [path("", reader_demo, name="reader-demo")]
