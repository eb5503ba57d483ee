"""Support answers from the site owner's knowledge base, found in the instructions.

``agent.prompts`` appends the owner's help articles to the support instructions between
``<help_articles>`` tags, each as ``<article title="...">...</article>``, so a real model
reads the same knowledge base. The engine ranks the articles against the question with
BM25 (title words count twice) and answers from the best one; when none shares enough words
with the question it says so and points to the human contact the prompt names.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from html import unescape

from agent.prompts import KB_CLOSE, KB_OPEN

_ARTICLE = re.compile(r'<article title="([^"]*)">\s*(.*?)\s*</article>', re.DOTALL)
_CONTACT = re.compile(r"(?im)^\s*[-*]?\s*(?:human help|contact|escalation)\s*:\s*(.+?)\s*$")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_VISUAL = re.compile(
    r"\b(?:where(?:'s| is| are| do i find| can i find)|show me|what does .{1,40} look like|"
    r"what .{1,40} looks? like|screenshot|picture of|diagram|illustrate)\b",
    re.IGNORECASE,
)
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "is",
        "are",
        "am",
        "was",
        "be",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "and",
        "or",
        "how",
        "do",
        "does",
        "did",
        "can",
        "could",
        "would",
        "should",
        "what",
        "when",
        "where",
        "why",
        "which",
        "who",
        "it",
        "its",
        "this",
        "that",
        "with",
        "from",
        "by",
        "as",
        "if",
        "so",
        "not",
        "no",
        "yes",
        "please",
        "help",
        "want",
        "need",
        "get",
        "there",
        "here",
        "any",
        "some",
        "have",
        "has",
        "just",
        "like",
        "about",
        "into",
        "out",
        "up",
        "use",
        "using",
        "atelier",
    ]
)
_K1, _B = 1.4, 0.75
MIN_SCORE = 1.2


@dataclass(frozen=True)
class Article:
    """One help article."""

    title: str
    body: str


@dataclass(frozen=True)
class Answer:
    """What support says, and the topic of a picture when one would help."""

    text: str
    article: str | None  # the article's title, None when nothing matched
    picture: str | None  # a short topic to illustrate, or None


def articles_in(instructions: str | None) -> list[Article]:
    """The help articles inside ``instructions`` (empty when there is no knowledge base)."""
    if not instructions or KB_OPEN not in instructions:
        return []
    block = instructions.split(KB_OPEN, 1)[1].split(KB_CLOSE, 1)[0]
    return [
        Article(unescape(t).strip(), b.replace("<\\/article>", "</article>").strip())
        for t, b in _ARTICLE.findall(block)
    ]


def has_kb(instructions: str | None) -> bool:
    """True when the instructions carry a knowledge base."""
    return bool(instructions) and KB_OPEN in (instructions or "")


def contact_in(instructions: str | None) -> str:
    """The human contact the prompt names ("Human help: ..."), else its first email."""
    text = (instructions or "").split(KB_OPEN, 1)[0]
    match = _CONTACT.search(text)
    if match:
        return match.group(1).rstrip(".")
    email = _EMAIL.search(text)
    return email.group(0) if email else "the help page's contact form"


def terms(text: str) -> list[str]:
    """Content words, lower-cased and lightly stemmed (plural s, -ing, -ed)."""
    out = []
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if word in _STOP or len(word) < 2:
            continue
        for suffix in ("ing", "ed", "es", "s"):
            if len(word) > len(suffix) + 3 and word.endswith(suffix):
                word = word[: -len(suffix)]
                break
        out.append(word)
    return out


def rank(question: str, articles: list[Article]) -> list[tuple[float, Article]]:
    """Articles scored by BM25 against ``question``, best first."""
    docs = [terms(f"{a.title} {a.title} {a.body}") for a in articles]
    if not docs:
        return []
    average = sum(len(d) for d in docs) / len(docs) or 1.0
    query = set(terms(question))
    counts = [Counter(d) for d in docs]
    scored = []
    for article, doc, tf in zip(articles, docs, counts, strict=True):
        score = 0.0
        for term in query:
            df = sum(1 for c in counts if term in c)
            if not df:
                continue
            idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
            f = tf[term]
            score += idf * f * (_K1 + 1) / (f + _K1 * (1 - _B + _B * len(doc) / average))
        scored.append((score, article))
    return sorted(scored, key=lambda p: -p[0])


def wants_picture(question: str) -> bool:
    """True when a picture would help ("where is the export button?", "show me ...")."""
    return bool(_VISUAL.search(question))


def picture_topic(question: str) -> str:
    """A word or two naming what to show ("Export", "Mask")."""
    skip = _STOP | {"where", "show", "look", "looks", "button", "find", "see", "screen", "page"}
    words = [w for w in re.findall(r"[A-Za-z]+", question) if w.lower() not in skip]
    return words[0].capitalize() if words else "Atelier"


def answer(instructions: str | None, question: str) -> Answer:
    """The support answer from the best-matching article, or a pointer to a human."""
    articles = articles_in(instructions)
    ranked = rank(question, articles)
    picture = picture_topic(question) if wants_picture(question) else None
    if not ranked or not _relevant(question, ranked[0]):
        return Answer(
            "I couldn't find that in our help articles, so I won't guess. Please contact "
            f"{contact_in(instructions)} and a person will help you.",
            None,
            picture,
        )
    article = ranked[0][1]
    return Answer(
        f"From \u201c{article.title}\u201d: {_excerpt(article.body)}", article.title, picture
    )


def _relevant(question: str, best: tuple[float, Article]) -> bool:
    """Good enough to answer from: a high score, or shared title words / several words (small
    knowledge bases give every word a low BM25 weight)."""
    score, article = best
    if score >= MIN_SCORE:
        return True
    query = set(terms(question))
    in_title = query & set(terms(article.title))
    in_body = query & set(terms(article.body))
    return score > 0 and (bool(in_title) or len(in_body) >= 2)


def _excerpt(body: str, limit: int = 700) -> str:
    """The article's opening paragraphs, up to about ``limit`` characters, whole lines."""
    lines = [line.rstrip() for line in body.splitlines()]
    lines = [line for line in lines if not line.lstrip().startswith("#")]
    text = "\n".join(lines).strip()
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip() + " \u2026"
