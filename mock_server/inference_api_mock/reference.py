"""A plain HTML API reference rendered from the spec the server carries: `/docs` of an installed wheel.

In a checkout, `python3 scripts/dev docs` builds the Redocly reference (build/docs/index.html) and
`/docs` serves that. An installed package has no checkout and no Node.js, and building the Redocly
page into the wheel would need Node.js at build time, which `pip install` from the sdist cannot
count on. So the server renders this page itself: every operation with its parameters, request
body, responses, headers and examples, then every schema, linked by name. One self-contained page
(inline CSS, no script, nothing loaded from elsewhere: the mock server is often used offline).

Descriptions are Markdown; they are shown as text with their paragraphs, line breaks and `code`
spans kept. A Markdown renderer would be one more dependency of the `server` extra for one page.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from typing import Any

from .spec import HTTP_METHODS

MAX_DEPTH = 12  # inline schemas nest this deep at most; components are linked, never expanded
NOTES = {"x-guide": "From the guide", "x-assumed": "Assumed"}
SCHEMA_FACTS = (
    "format",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "contentMediaType",
)
STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
code, pre { font: 13px/1.4 ui-monospace, monospace; background: #f4f4f4; }
pre { padding: .6rem; overflow-x: auto; }
.text { white-space: pre-line; }
.note { color: #555; font-size: 14px; margin: .3rem 0; }
.note .text { display: inline; }
.method { font-weight: bold; text-transform: uppercase; }
section.operation, section.schema { border-top: 1px solid #ddd; margin-top: 1.5rem; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0; }
th, td { border: 1px solid #ddd; padding: .25rem .5rem; text-align: left; vertical-align: top; }
"""

_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def render_reference(document: Mapping[str, Any]) -> str:
    """The whole page, from an OpenAPI document (as loaded from YAML)."""
    return _Renderer(document).page()


def _text(value: object) -> str:
    """Markdown shown as text: escaped, paragraphs and line breaks kept, `code` spans as <code>."""
    escaped = html.escape(str(value).strip())
    if not escaped:
        return ""
    return '<div class="text">' + _CODE_SPAN.sub(r"<code>\1</code>", escaped) + "</div>"


def _code(value: object) -> str:
    return f"<code>{html.escape(str(value))}</code>"


def _anchor(kind: str, name: str) -> str:
    return html.escape(f"{kind}-{re.sub(r'[^A-Za-z0-9_.-]', '-', name)}", quote=True)


class _Renderer:
    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document

    def resolve(self, node: Any) -> Any:
        """Follow local `$ref`s (parameters, responses, headers), a bounded number of times."""
        for _ in range(MAX_DEPTH):
            if not (isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/")):
                return node
            target: Any = self.document
            for part in node["$ref"][2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                target = target.get(part) if isinstance(target, Mapping) else None
            if target is None:
                return node
            node = target
        return node

    def with_example(self, element: Mapping[str, Any]) -> str:
        """The schema of a parameter or header, and its example."""
        shown = self.schema(element.get("schema", {}), 1)
        if "example" in element:
            shown += f"<div>example: {_code(json.dumps(element['example'], ensure_ascii=False))}</div>"
        return shown

    def notes(self, element: Mapping[str, Any]) -> str:
        shown = [
            f'<div class="note"><b>{label}:</b> {_text(element[key])}</div>'
            for key, label in NOTES.items()
            if isinstance(element.get(key), str)
        ]
        return "".join(shown)

    def described(self, element: Mapping[str, Any]) -> str:
        summary = f"<p><b>{html.escape(str(element['summary']))}</b></p>" if "summary" in element else ""
        return summary + _text(element.get("description", "")) + self.notes(element)

    # --- schemas -------------------------------------------------------------------------------------

    def schema(self, node: Any, depth: int = 0) -> str:
        """A schema as HTML: a link for a component, else its type, facts and parts."""
        if not isinstance(node, Mapping):
            return _code(json.dumps(node))  # `true` / `false` schemas
        if depth > MAX_DEPTH:
            return "…"
        reference = node.get("$ref")
        if isinstance(reference, str):
            name = reference.rsplit("/", 1)[-1]
            link = f'<a href="#{_anchor("schema", name)}">{html.escape(name)}</a>'
            return link if reference.startswith("#/components/schemas/") else _code(reference)
        parts: list[str] = []
        kind = node.get("type")
        if kind is not None:
            kinds = kind if isinstance(kind, list) else [kind]
            parts.append(" | ".join(_code(one) for one in kinds))
        if "const" in node:
            parts.append(f"always {_code(json.dumps(node['const']))}")
        if "enum" in node:
            parts.append("one of " + ", ".join(_code(json.dumps(value)) for value in node["enum"]))
        facts = [f"{fact}: {_code(json.dumps(node[fact]))}" for fact in SCHEMA_FACTS if fact in node]
        for fact in ("default", "example"):
            if fact in node:
                facts.append(f"{fact}: {_code(json.dumps(node[fact], ensure_ascii=False))}")
        if facts:
            parts.append(f"({', '.join(facts)})")
        text = " ".join(parts)
        if depth > 0 and node.get("description"):
            text += _text(node["description"])
        if depth > 0:
            text += self.notes(node)
        text += self.schema_parts(node, depth)
        return text or "any value"

    def schema_parts(self, node: Mapping[str, Any], depth: int) -> str:
        out = ""
        for combiner, label in (("allOf", "all of"), ("oneOf", "one of"), ("anyOf", "any of")):
            if isinstance(node.get(combiner), list):
                items = "".join(f"<li>{self.schema(part, depth + 1)}</li>" for part in node[combiner])
                out += f"<div>{label}:<ul>{items}</ul></div>"
        if "items" in node:
            out += f"<div>items: {self.schema(node['items'], depth + 1)}</div>"
        for key, label in (("contentSchema", "content"), ("if", "if"), ("then", "then"), ("else", "else")):
            if key in node:
                out += f"<div>{label}: {self.schema(node[key], depth + 1)}</div>"
        properties = node.get("properties")
        if isinstance(properties, Mapping) and properties:
            required = set(node.get("required", []))
            rows = "".join(
                f"<tr><td>{_code(name)}{' <b>required</b>' if name in required else ''}</td>"
                f"<td>{self.schema(value, depth + 1)}</td></tr>"
                for name, value in properties.items()
            )
            out += f"<table><tr><th>property</th><th>schema</th></tr>{rows}</table>"
        elif node.get("required"):
            out += "<div>required: " + ", ".join(_code(name) for name in node["required"]) + "</div>"
        extra = node.get("additionalProperties")
        if extra is False:
            out += "<div>no other properties</div>"
        elif isinstance(extra, Mapping):
            out += f"<div>other properties: {self.schema(extra, depth + 1)}</div>"
        return out

    # --- operations ----------------------------------------------------------------------------------

    def examples(self, media: Mapping[str, Any]) -> str:
        found = dict(media.get("examples") or {})
        if "example" in media:
            found["example"] = {"value": media["example"]}
        out = ""
        for name, example in found.items():
            example = self.resolve(example)
            if not isinstance(example, Mapping) or "value" not in example:
                continue
            title = html.escape(str(example.get("summary") or name))
            value = example["value"]
            shown = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
            out += f"<p>Example: {title}</p><pre>{html.escape(shown)}</pre>"
        return out

    def content(self, content: Any) -> str:
        if not isinstance(content, Mapping):
            return ""
        out = ""
        for media_type, media in content.items():
            media = media if isinstance(media, Mapping) else {}
            out += f"<div>{_code(media_type)}: {self.schema(media.get('schema', {}))}</div>"
            if "itemSchema" in media:  # OpenAPI 3.2: one event of a stream
                out += f"<div>each event: {self.schema(media['itemSchema'])}</div>"
            out += self.examples(media)
        return out

    def parameters(self, parameters: list[Any]) -> str:
        if not parameters:
            return ""
        rows = ""
        for parameter in map(self.resolve, parameters):
            required = " <b>required</b>" if parameter.get("required") else ""
            rows += (
                f"<tr><td>{_code(parameter.get('name', '?'))}{required}</td><td>{html.escape(parameter.get('in', ''))}"
                f"</td><td>{self.with_example(parameter)}</td><td>{self.described(parameter)}</td></tr>"
            )
        return (
            "<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>schema</th><th>description</th></tr>"
            f"{rows}</table>"
        )

    def responses(self, responses: Mapping[str, Any]) -> str:
        out = "<h4>Responses</h4>"
        for status, response in responses.items():
            response = self.resolve(response)
            out += f"<h5>{html.escape(str(status))}</h5>{self.described(response)}"
            headers = response.get("headers") or {}
            if headers:
                rows = "".join(
                    f"<tr><td>{_code(name)}</td><td>{self.with_example(self.resolve(header))}</td>"
                    f"<td>{self.described(self.resolve(header))}</td></tr>"
                    for name, header in headers.items()
                )
                out += f"<table><tr><th>header</th><th>schema</th><th>description</th></tr>{rows}</table>"
            out += self.content(response.get("content"))
        return out

    def operation(self, method: str, path: str, operation: Mapping[str, Any], shared: list[Any]) -> str:
        name = str(operation.get("operationId") or f"{method} {path}")
        out = (
            f'<section class="operation" id="{_anchor("operation", name)}"><h3><span class="method">'
            f"{html.escape(method)}</span> {_code(path)}: {html.escape(str(operation.get('summary', name)))}</h3>"
            f"<p>operationId {_code(name)}</p>"
            f"{_text(operation.get('description', ''))}{self.notes(operation)}"
        )
        out += self.parameters([*shared, *operation.get("parameters", [])])
        body = self.resolve(operation.get("requestBody"))
        if isinstance(body, Mapping):
            out += f"<h4>Request body{' (required)' if body.get('required') else ''}</h4>{self.described(body)}"
            out += self.content(body.get("content"))
        return out + self.responses(operation.get("responses", {})) + "</section>"

    def operations(self) -> list[tuple[str, str, Mapping[str, Any], list[Any]]]:
        found = []
        for path, item in (self.document.get("paths") or {}).items():
            item = self.resolve(item)
            for method in HTTP_METHODS:
                if isinstance(item.get(method), Mapping):
                    found.append((method, path, item[method], list(item.get("parameters", []))))
        return found

    def page(self) -> str:
        info = self.document.get("info", {})
        title = f"{info.get('title', 'API')} {info.get('version', '')}".strip()
        operations = self.operations()
        schemas = (self.document.get("components") or {}).get("schemas") or {}
        contents = "".join(
            f'<li><a href="#{_anchor("operation", str(op.get("operationId") or f"{method} {path}"))}">'
            f'<span class="method">{html.escape(method)}</span> {html.escape(path)}</a>: '
            f"{html.escape(str(op.get('summary', '')))}</li>"
            for method, path, op, _ in operations
        )
        contents += "".join(
            f'<li><a href="#{_anchor("schema", name)}">{html.escape(name)}</a></li>' for name in schemas
        )
        servers = "".join(
            f"<li>{_code(server.get('url', ''))} {html.escape(str(server.get('description', '')))}</li>"
            for server in self.document.get("servers", [])
        )
        security = (self.document.get("components") or {}).get("securitySchemes") or {}
        schemes = "".join(
            f"<li>{_code(name)}: {html.escape(str(scheme.get('type', '')))} "
            f"{html.escape(str(scheme.get('scheme', '')))}{_text(scheme.get('description', ''))}</li>"
            for name, scheme in security.items()
        )
        body = (
            f"<h1>{html.escape(title)}</h1>"
            f"{self.described(info)}"
            '<p class="note">Rendered by the mock server from the OpenAPI document it implements '
            '(<a href="/openapi.yaml">/openapi.yaml</a>).</p>'
            f"{'<h2>Servers</h2><ul>' + servers + '</ul>' if servers else ''}"
            f"{'<h2>Authentication</h2><ul>' + schemes + '</ul>' if schemes else ''}"
            f"<h2>Contents</h2><ul>{contents}</ul>"
            "<h2>Operations</h2>"
            + "".join(self.operation(*entry) for entry in operations)
            + "<h2>Schemas</h2>"
            + "".join(
                f'<section class="schema" id="{_anchor("schema", name)}"><h3>{html.escape(name)}</h3>'
                f"{_text(schema.get('description', '')) if isinstance(schema, Mapping) else ''}"
                f"{self.notes(schema) if isinstance(schema, Mapping) else ''}"
                f"{self.schema(schema)}</section>"
                for name, schema in schemas.items()
            )
        )
        return (
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="icon" href="data:,"><title>{html.escape(title)}: API reference</title>'
            f"<style>{STYLE}</style></head><body>{body}</body></html>\n"
        )
