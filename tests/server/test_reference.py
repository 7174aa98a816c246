"""`/docs` without a checkout: the plain reference the mock server renders from the spec it carries."""

from __future__ import annotations

import html
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import anyio
import httpx

from inference_api_mock.app import create_app
from inference_api_mock.reference import render_reference
from inference_api_mock.spec import load_spec
from tests.openapi_document import METHODS, SPEC, example_values, operations

VOID = {"meta", "link", "br", "hr", "img", "input"}
BLOCKS = {"div", "table", "ul", "ol", "pre", "section", "h1", "h2", "h3", "h4", "h5", "p"}


class Page(HTMLParser):
    """The page's ids, links, attributes and text; fails on an unclosed or misnested tag."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.open: list[str] = []
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.sources: list[str] = []
        self.tags: set[str] = set()
        self.text: list[str] = []
        self.feed(source)
        self.close()
        assert self.open == [], f"unclosed: {self.open}"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        values = dict(attrs)
        if "id" in values:
            assert values["id"] not in self.ids, f"id {values['id']} twice"
            self.ids.add(values["id"] or "")
        if tag in ("a", "link") and values.get("href") is not None:
            self.hrefs.append(values["href"] or "")
        if "src" in values:
            self.sources.append(values["src"] or "")
        if tag not in VOID:
            # A block inside <p> is closed by the browser before its time: the layout breaks.
            assert not (tag in BLOCKS and "p" in self.open), f"<{tag}> inside <p>"
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def schema_example_values() -> list[Any]:
    """The `example` of every schema, property or parameter (media types give named `examples`)."""
    found: list[Any] = []
    stack: list[Any] = [SPEC]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "example" in node and isinstance(node.get("type", node.get("schema")), str | dict):
                found.append(node["example"])
            stack.extend(value for key, value in node.items() if key not in ("example", "examples"))
        elif isinstance(node, list):
            stack.extend(node)
    return found


def test_the_reference_shows_every_operation_schema_and_example() -> None:
    page = Page(render_reference(SPEC))
    text = html.unescape("".join(page.text))
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                assert operation["summary"] in text and path in text, operation["operationId"]
                assert f"operation-{operation['operationId']}" in page.ids
    for name in SPEC["components"]["schemas"]:
        assert f"schema-{name}" in page.ids, name
    assert len(example_values()) >= 3
    for value in example_values():
        assert (value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)) in text
    schema_examples = schema_example_values()
    assert len(schema_examples) >= 5
    for value in schema_examples:  # short ones on their line, long ones indented
        shown = (json.dumps(value, ensure_ascii=False), json.dumps(value, indent=2, ensure_ascii=False))
        assert any(form in text for form in shown), value
    parameter_names = {parameter["name"] for parameter in SPEC["components"]["parameters"].values()}
    assert parameter_names and all(name in text for name in parameter_names)
    source = render_reference(SPEC)
    for operation in operations():  # each response, under its own operation
        start = source.index(f'id="operation-{operation["operationId"]}"')
        section = source[start : source.index("</section>", start)]
        assert all(f"<h5>{status}</h5>" in section for status in operation["responses"]), operation["operationId"]


def test_every_link_leads_somewhere_on_the_page_and_nothing_is_loaded_from_elsewhere() -> None:
    page = Page(render_reference(SPEC))
    assert "script" not in page.tags and page.sources == []
    local = [href for href in page.hrefs if href.startswith("#")]
    assert len(local) > 40
    assert {href[1:] for href in local} <= page.ids
    assert set(page.hrefs) - set(local) == {"/openapi.yaml", "data:,"}


def test_text_from_the_spec_is_escaped() -> None:
    hostile = {
        "info": {"title": "<script>alert(1)</script>", "version": "1", "description": "a `<b>` b"},
        "paths": {
            "/x/{id}": {
                "get": {
                    "operationId": 'op"><img src=x>',
                    "summary": "<i>s</i>",
                    "parameters": [{"name": "<id>", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "<u>ok</u>"}},
                }
            }
        },
        "components": {"schemas": {"A<b>": {"type": "object", "properties": {"<p>": {"enum": ["</table>"]}}}}},
    }
    source = render_reference(hostile)
    page = Page(source)
    assert {"script", "img", "i", "u"}.isdisjoint(page.tags) and "<b>" not in source.replace("<b>required</b>", "")
    text = "".join(page.text)
    assert "<script>alert(1)</script>" in text and "<i>s</i>" in text and '"</table>"' in text


def test_docs_without_a_built_page_serves_the_rendered_reference(tmp_path: Path) -> None:
    built = tmp_path / "index.html"
    app = create_app(["token"], docs_page=built)

    async def get_docs() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://mock") as client:
            return await client.get("/docs")

    response = anyio.run(get_docs)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert response.text == render_reference(load_spec().document)
    built.write_text("<html>the Redocly page</html>")  # once a checkout builds it, that page is served
    assert anyio.run(get_docs).text == "<html>the Redocly page</html>"
