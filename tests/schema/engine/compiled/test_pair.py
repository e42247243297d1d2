"""A disagreement is told with everything needed to read and reproduce it."""

from __future__ import annotations

from app.models.auth import Role
from tests.schema.engine.compiled.pair import Answer, Ask, difference, first_difference

ASK = Ask("{ viewer { name } }", {"v0": 1}, Role.REP, get=True)
JSON = "application/json; charset=utf-8"


def _answer(body: bytes, status: int = 200) -> Answer:
    return Answer(status=status, body=body, content_type=JSON, executor="compiled")


def test_equal_answers_have_no_difference() -> None:
    body = b'{"data":{"viewer":{"name":"A"}}}'
    assert difference(ASK, _answer(body), _answer(body)) is None


def test_a_difference_names_the_request_the_offset_and_both_bodies() -> None:
    compiled = _answer(b'{"data":{"viewer":{"name":"A\\u0001"}}}')
    graphql = _answer(b'{"data":{"viewer":{"name":"A\\u0002"}}}')

    told = difference(ASK, compiled, graphql)

    assert told is not None
    assert "role: REP   method: GET" in told
    assert "{ viewer { name } }" in told
    assert '"v0": 1' in told
    assert "first differ at byte 33" in told
    assert compiled.body.decode() in told
    assert graphql.body.decode() in told


def test_a_status_alone_is_a_difference() -> None:
    body = b'{"errors":[]}'
    told = difference(ASK, _answer(body, 200), _answer(body, 400))
    assert told is not None
    assert "status: compiled 200, graphql 400" in told


def test_first_difference_of_a_prefix_is_its_length() -> None:
    assert first_difference(b"abc", b"abcd") == 3
    assert first_difference(b"abc", b"abd") == 2
