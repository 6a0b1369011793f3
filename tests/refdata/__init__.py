"""Where the reference specs and samples live for the tests."""

import re
from pathlib import Path

REFDATA = Path(__file__).resolve().parent


def strip_jsonc(text: str) -> str:
    """The samples' JSON with `//` comments and trailing commas, made strict (strings left alone)."""
    out, i, in_string = [], 0, False
    while i < len(text):
        ch = text[i]
        if in_string:
            out.append(ch)
            if ch == "\\":
                out.append(text[i + 1])
                i += 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
            out.append(ch)
        elif text.startswith("//", i):
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(ch)
        i += 1
    return re.sub(r",(\s*[}\]])", r"\1", "".join(out))
