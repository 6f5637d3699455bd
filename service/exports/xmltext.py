"""Text written into XML (map.svg, GraphML, GEXF): escaped, and without the characters XML 1.0 forbids.

XML 1.0 allows tab, line feed, carriage return and the characters from U+0020 on, except the surrogates
and U+FFFE/U+FFFF; a document holding any other (a NUL, a vertical tab, an ESC in a name stored before
names were checked, or brought in by an import) is not well-formed, and every reader refuses the whole
of it. Such characters are dropped, so one odd value costs that value its control character, not the
reader its document.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape, quoteattr

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_chars(text: str) -> str:
    """`text` without the characters XML 1.0 forbids. Printable text (str.isprintable: no controls, no
    surrogates, no unassigned code points such as U+FFFE) holds none of them, and is most of an export's."""
    return text if text.isprintable() else _FORBIDDEN.sub("", text)


def xml_text(text: str) -> str:
    """`text` as XML character data."""
    return escape(xml_chars(text))


def xml_attribute(text: str) -> str:
    """`text` as a quoted XML attribute value (tab and line breaks as references, so they survive parsing)."""
    return quoteattr(xml_chars(text))
