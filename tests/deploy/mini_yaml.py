"""A small YAML reader for the project's own deployment files (stdlib only).

It reads the subset that deploy/compose/compose.yaml and helm/crm/values*.yaml
use: block mappings and sequences, flow sequences and flow mappings of
scalars and aliases, plain/single/double-quoted scalars, comments, anchors,
aliases and merge keys (`<<: *a`, `<<: [*a, *b]`). Anything else is an
error, never a silent misreading. check_deploy.py compares its result with
PyYAML's when PyYAML is installed, so the two cannot drift apart unnoticed.
"""

import re

__all__ = ["load", "YamlError"]


class YamlError(ValueError):
    pass


_INT = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")
_FLOAT = re.compile(r"^[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$")
_BOOLS = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False}


def _strip_comment(line):
    """The line without a trailing comment (a # outside quotes, after a space)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"" and (i == 0 or line[i - 1] in " [{,:"):
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip()
    return line.rstrip()


def _split_flow(text):
    """Top-level comma-separated items of a flow collection's inside."""
    items, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(text[start:i].strip())
            start = i + 1
    last = text[start:].strip()
    if last:
        items.append(last)
    return items


def _find_colon(text):
    """Index of the mapping colon (": " or a final ":") outside quotes, or -1."""
    quote = None
    depth = 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == ":" and depth == 0 and (i + 1 == len(text) or text[i + 1] == " "):
            return i
    return -1


class _Parser:
    def __init__(self, text):
        self.anchors = {}
        self.lines = []  # (indent, content, line number)
        for number, raw in enumerate(text.splitlines(), 1):
            if "\t" in raw[: len(raw) - len(raw.lstrip())]:
                raise YamlError(f"line {number}: tab in indentation")
            content = _strip_comment(raw)
            if not content.strip():
                continue
            if content.strip() in ("---", "..."):
                raise YamlError(f"line {number}: one document only")
            self.lines.append((len(content) - len(content.lstrip()), content.strip(), number))
        self.pos = 0

    def error(self, message):
        number = self.lines[min(self.pos, len(self.lines) - 1)][2] if self.lines else 0
        return YamlError(f"line {number}: {message}")

    # ---- scalars and flow collections ----
    def scalar(self, text):
        if text.startswith('"'):
            if not text.endswith('"') or len(text) < 2:
                raise self.error(f"unterminated string {text}")
            body = text[1:-1]
            return re.sub(r'\\(["\\/nt])', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)
        if text.startswith("'"):
            if not text.endswith("'") or len(text) < 2:
                raise self.error(f"unterminated string {text}")
            return text[1:-1].replace("''", "'")
        if text.startswith("*"):
            name = text[1:]
            if name not in self.anchors:
                raise self.error(f"unknown alias *{name}")
            return self.anchors[name]
        if text.startswith("["):
            if not text.endswith("]"):
                raise self.error("multi-line flow sequences are not supported")
            return [self.scalar(item) for item in _split_flow(text[1:-1])]
        if text.startswith("{"):
            if not text.endswith("}"):
                raise self.error("multi-line flow mappings are not supported")
            result = _Mapping()
            for item in _split_flow(text[1:-1]):
                colon = _find_colon(item)
                if colon < 0:
                    raise self.error(f"flow mapping item without a colon: {item}")
                result.put(self, item[:colon].strip(), self.scalar(item[colon + 1 :].strip()))
            return result
        if text[:1] in "&!|>%@`":
            raise self.error(f"unsupported syntax: {text}")
        if text in ("", "~", "null", "Null", "NULL"):
            return None
        if text.lower() in _BOOLS:
            return _BOOLS[text.lower()]
        if _INT.match(text):
            return int(text)
        if _FLOAT.match(text):
            return float(text)
        return text

    # ---- block structure ----
    def value_after(self, rest, parent_indent, allow_same_indent_seq):
        """The value of `key: rest` (or `- rest`): inline, or the block below."""
        anchor = None
        if rest.startswith("&"):
            anchor, _, rest = rest.partition(" ")
            anchor = anchor[1:]
            rest = rest.strip()
        if rest:
            value = self.scalar(rest)
        elif self.pos < len(self.lines) and (
            self.lines[self.pos][0] > parent_indent
            or (allow_same_indent_seq and self.lines[self.pos][0] == parent_indent
                and self.lines[self.pos][1].startswith("- "))
        ):
            value = self.block(self.lines[self.pos][0])
        else:
            value = None
        if anchor:
            self.anchors[anchor] = value
        return value

    def block(self, indent):
        if self.lines[self.pos][1].startswith("- ") or self.lines[self.pos][1] == "-":
            return self.sequence(indent)
        return self.mapping(indent)

    def sequence(self, indent):
        result = []
        while self.pos < len(self.lines):
            line_indent, content, _ = self.lines[self.pos]
            if line_indent < indent or not (content.startswith("- ") or content == "-"):
                break
            if line_indent > indent:
                raise self.error("bad indentation in a sequence")
            item = content[2:].strip()
            self.pos += 1
            colon = _find_colon(item)
            if item and not item.startswith(("'", '"', "[", "{", "*")) and colon > 0:
                # "- key: value" starts a mapping whose keys sit at indent + 2.
                self.pos -= 1
                self.lines[self.pos] = (indent + 2, item, self.lines[self.pos][2])
                result.append(self.mapping(indent + 2))
            else:
                result.append(self.value_after(item, indent, False))
        return result

    def mapping(self, indent):
        result = _Mapping()
        while self.pos < len(self.lines):
            line_indent, content, _ = self.lines[self.pos]
            if line_indent < indent:
                break
            if line_indent > indent:
                raise self.error("bad indentation in a mapping")
            if content.startswith("- "):
                break
            colon = _find_colon(content)
            if colon <= 0:
                raise self.error(f"expected 'key: value', got {content}")
            key, rest = content[:colon].strip(), content[colon + 1 :].strip()
            self.pos += 1
            result.put(self, key, self.value_after(rest, indent, True))
        return result


class _Mapping(dict):
    """A dict that remembers which keys were written explicitly."""

    def __init__(self):
        super().__init__()
        self.explicit = set()

    def put(self, parser, key, value):
        if key[:1] in "'\"":
            key = parser.scalar(key)
        if key == "<<":
            sources = value if isinstance(value, list) else [value]
            for source in sources:
                if not isinstance(source, dict):
                    raise parser.error("merge key needs mappings")
                for k, v in source.items():
                    if k not in self.explicit:
                        self.setdefault(k, v)
            return
        if key in self.explicit:
            raise parser.error(f"duplicate key {key}")
        self.explicit.add(key)
        self[key] = value


def _plain(value):
    """Plain dicts and lists (no parser bookkeeping)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def load(text):
    parser = _Parser(text)
    if not parser.lines:
        return None
    value = parser.block(parser.lines[0][0])
    if parser.pos != len(parser.lines):
        raise parser.error("unexpected content")
    return _plain(value)
