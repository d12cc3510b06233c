"""Every API error is JSON with {"error": {code, message, details}}, never HTML."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def _assert_error_shape(response, status: int) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert isinstance(error["message"], str) and error["message"]
    return error


def test_unknown_api_path_is_json_404():
    error = _assert_error_shape(APIClient().get("/api/v1/no-such-thing"), 404)
    assert error["code"] == "not_found"


def test_unknown_page_id_is_json_404():
    error = _assert_error_shape(APIClient().get("/api/v2/pages/999999/"), 404)
    assert error["code"] == "not_found"


def test_wrong_method_is_json_405():
    error = _assert_error_shape(APIClient().post("/api/v1/topics", {}), 405)
    assert error["code"] == "method_not_allowed"
    assert "POST" in error["message"]


def test_wrong_method_on_v2_is_json_405():
    _assert_error_shape(APIClient().delete("/api/v2/pages/"), 405)


def test_unknown_api_path_is_json_even_with_debug(settings):
    settings.DEBUG = True
    _assert_error_shape(APIClient().get("/api/v2/nothing-here/"), 404)


def test_bad_limit_and_offset_are_json_400():
    for params in ({"limit": "-1"}, {"offset": "x"}, {"order": "no_field"}):
        error = _assert_error_shape(APIClient().get("/api/v2/pages/", params), 400)
        assert error["code"] == "bad_request"


def test_unhandled_exception_is_json_500_without_traceback(monkeypatch):
    # given: a selector that blows up inside the view
    def explode():
        raise RuntimeError("database on fire")

    monkeypatch.setattr("cms.apis.topic_list_with_counts", explode)
    client = APIClient(raise_request_exception=False)
    # when
    response = client.get("/api/v1/topics")
    # then
    error = _assert_error_shape(response, 500)
    assert error["code"] == "server_error"
    assert "fire" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
