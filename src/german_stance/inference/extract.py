"""Article text out of Markdown and HTML: keep the prose, drop markup, navigation and footers.

Usage: ``strip_markdown("# Titel\\n**fett**")``, ``extract_html_text(page, "a.html")``
"""

from __future__ import annotations

import html
import re


class InputError(ValueError):
    """A bad input entry; the message says what was expected, what was found and how to fix it."""


# Minimal Markdown: keep the prose, drop the markup. Line structure is kept because a line break is a
# hard sentence boundary for the splitter (so a heading stays its own sentence).
_MARKDOWN_RULES = [
    (re.compile(r"\A---\n.*?\n---[ \t]*\n", re.S), ""),  # YAML front matter
    (re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.S | re.M), ""),  # fenced code is not prose
    (re.compile(r"<!--.*?-->", re.S), ""),  # comments
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),  # images
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links keep their text
    (re.compile(r"^[ \t]*\[[^\]]+\]:[ \t]*\S+.*$", re.M), ""),  # reference definitions
    (re.compile(r"^[ \t]{0,3}([-*_][ \t]*){3,}$", re.M), ""),  # horizontal rules
    (re.compile(r"^[ \t]{0,3}(?:#{1,6}[ \t]+|>[ \t]?|[-*+][ \t]+|\d+[.)][ \t]+)+", re.M), ""),  # block markers
    (re.compile(r"[ \t]+#+[ \t]*$", re.M), ""),  # closing hashes of headings
    (re.compile(r"(?<!\w)(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1(?!\w)"), r"\2"),  # emphasis, inline code
    (re.compile(r"</?[a-zA-Z][^>\n]*>"), ""),  # inline HTML tags
]


def strip_markdown(text: str) -> str:
    """Remove common Markdown markup (headings, emphasis, links, lists, code) and keep the text."""
    text = text.replace("\r\n", "\n")
    for pattern, replacement in _MARKDOWN_RULES:
        text = pattern.sub(replacement, text)
    return text


_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.S | re.I)


def html_title(markup: str) -> str:
    """The page's ``<title>``, unescaped and on one line ("" when there is none)."""
    found = _TITLE.search(markup[:200_000])
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).split()) if found else ""


def extract_html_text(markup: str, where: str) -> str:
    """Main text of an HTML page without navigation and footer: trafilatura, else BeautifulSoup."""
    import trafilatura

    # favor_precision: a stray header or teaser line would be labelled like article text and skew the summary.
    text = trafilatura.extract(markup, include_comments=False, include_tables=False, favor_precision=True) or ""
    if text.strip():
        return text
    # trafilatura returns nothing for very short pages or pages without an article-like block.
    try:
        from bs4 import BeautifulSoup, NavigableString
    except ImportError:
        raise InputError(f"{where}: expected an article that trafilatura can find, found none, and the "
                         "BeautifulSoup fallback is missing; `pip install beautifulsoup4` or save it as .txt") from None
    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup(["head", "script", "style", "noscript", "template", "svg", "nav", "header", "footer", "aside",
                     "form"]):
        tag.decompose()
    # Source line breaks inside a paragraph are not sentence boundaries; block elements are.
    for node in soup.find_all(string=True):
        if type(node) is NavigableString:
            node.replace_with(re.sub(r"\s+", " ", str(node)))
        else:  # doctype, comments, CDATA: not text
            node.extract()
    for tag in soup.find_all(["p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "blockquote",
                              "section", "article", "main", "pre"]):
        tag.insert_after("\n")
    lines = (line.strip() for line in soup.get_text().split("\n"))
    return "\n".join(line for line in lines if line)
