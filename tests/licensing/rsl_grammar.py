"""Check an RSL document against the grammar of RSL 1.0 in schemas/rsl-1.0.rng."""

from pathlib import Path

from lxml import etree

GRAMMAR = etree.RelaxNG(etree.parse(str(Path(__file__).parent / "schemas" / "rsl-1.0.rng")))
NS = {"rsl": "https://rslstandard.org/rsl", "provenant": "https://provenant.dev/ns/rsl/1"}


class InvalidRSL(AssertionError):
    """The document is not valid RSL 1.0."""


def valid_rsl(document: str | bytes) -> etree._Element:
    """Return the document's root if it is valid RSL 1.0; raise InvalidRSL saying why if not.

    Beside the grammar, each `<content>` must name a distinct asset: RSL wants one `<content>`
    per URL holding every `<license>` for it, which RELAX NG cannot express.
    """
    root = etree.fromstring(document.encode() if isinstance(document, str) else document)
    if not GRAMMAR.validate(root):
        raise InvalidRSL(str(GRAMMAR.error_log))
    urls = [content.get("url") for content in root.findall("rsl:content", NS)]
    repeated = sorted({url for url in urls if urls.count(url) > 1})
    if repeated:
        raise InvalidRSL(f"more than one <content> for {repeated}")
    return root
