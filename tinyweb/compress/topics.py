"""Stage 2, topics: what each page is about, as a short CSS-safe name the framework's classes carry.

Each page's text (title, description, headings, then visible text) is embedded with all-MiniLM-L6-v2;
Ward clustering of the unit-length embeddings is cut at every k from 2 to about sqrt(pages), and the k with
the best cosine silhouette wins, so the number of topics comes from the data. Outliers join the `general`
topic: a page alone in its cluster, or one clearly closer to another cluster than to its own (silhouette
below OUTLIER_SILHOUETTE). A topic is named by what its pages are, in a word a person would use: the kind most
of them share (tinyweb.compress.pagekind.kind_word: "dashboard", "bakery", "docs", "sign-in", "portfolio"), else
its top c-TF-IDF keyword (BERTopic's class-based TF-IDF) that is no site, vendor or brand name: not a template
vendor's word, not a word of the pages' URLs (their site folders; hosts are all loopback here), not a proper
noun (a word the pages' text nearly always capitalises). A kind two topics share takes the second one's
keyword ("blog", "blog-travel"). Everything is deterministic: the same pages give the same topics and names.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from tinyweb.compress.pagekind import VENDOR, facts, kind_word

GENERAL = "general"
RESERVED = {GENERAL, "base", "page"}
MAX_TEXT_CHARS = 2000
MAX_TOPICS = 24
MIN_TOPIC_SIZE = 2
MIN_SILHOUETTE = 0.05  # below this no split explains the pages better than one topic
OUTLIER_SILHOUETTE = -0.1
SLUG_MAX = 16
KIND_SHARE = 0.4  # a kind names a topic when at least this share of its pages (and two) are of that kind
PROPER_NOUN_SHARE = 0.9  # a word capitalised in at least this share of its (3 or more) mid-sentence uses
PROSE_WORDS = 6  # a sentence of fewer words is no evidence of how a word is written
NAMING_KEYWORDS = 12  # c-TF-IDF keywords looked at for a name, before site and brand words are left out
_UNITS = [
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
]
# Words to tell apart topics with nothing else to tell them by ("pages-two"): names never end in a digit.
ORDINALS = [*_UNITS[1:], "sixteen", "seventeen", "eighteen", "nineteen", "twenty", *(f"twenty-{u}" for u in _UNITS[:9])]
# Words every web page has: they say nothing about a topic.
WEB_STOP_WORDS = {
    "home",
    "page",
    "pages",
    "menu",
    "login",
    "log",
    "sign",
    "copyright",
    "rights",
    "reserved",
    "privacy",
    "policy",
    "terms",
    "click",
    "read",
    "learn",
    "contact",
    "welcome",
    "website",
    "site",
    "template",
    "templates",
    "free",
    "html",
    "css",
    "bootstrap",
    "theme",
    "themes",
    "demo",
    "example",
    "examples",
    "lorem",
    "ipsum",
    "dolor",
    "amet",
    "sit",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "eiusmod",
    "tempor",
    "incididunt",
    "labore",
    "dolore",
    "magna",
    "aliqua",
    "ut",
    "enim",
    "minim",
    "veniam",
    "quis",
    "nostrud",
    "ullamco",
    "laboris",
    "nisi",
    "aliquip",
    "commodo",
    "consequat",
    "duis",
    "aute",
    "irure",
    "voluptate",
    "velit",
    "esse",
    "cillum",
    "fugiat",
    "nulla",
    "pariatur",
    "excepteur",
    "sint",
    "occaecat",
    "cupidatat",
    "non",
    "proident",
    "sunt",
    "culpa",
    "qui",
    "officia",
    "deserunt",
    "mollit",
    "anim",
    "est",
    "laborum",
    "com",
    "www",
    "http",
    "https",
    "item",
    "items",
    "button",
    "link",
    "links",
    "view",
    "new",
    "toggle",
    "navigation",
    "search",
    "skip",
    "content",
    "main",
    "startbootstrap",
    "start",
    "mdo",
    "lipsum",
    "dummy",
    "text",
    "industry",
    "printing",
    "typesetting",
    "gravida",
    "sem",
    "vel",
    "adipisicing",
    "nunc",
    "nibh",
    "mauris",
    "vitae",
    "eget",
    "quam",
    "pellentesque",
    "praesent",
    "donec",
    "fusce",
    "vestibulum",
    "aenean",
    "sapien",
    "tellus",
    "lectus",
    "odio",
    "justo",
    "lacus",
    "morbi",
    "ligula",
    "neque",
    "felis",
    "tortor",
    "risus",
    "arcu",
    "ante",
    "metus",
    "orci",
    "purus",
    "libero",
    "nam",
    "nisl",
    "diam",
    "erat",
    "integer",
    "massa",
    "magnis",
    "etiam",
    "curabitur",
    "quisque",
    "cras",
    "simply",
    "ago",
    "said",
    "don",
    "just",
    "like",
    "make",
    "use",
    "get",
    "come",
    "know",
    "look",
    "day",
    "days",
    "heading",
    "title",
    "paragraph",
    "placeholder",
    "col",
    "card",
    "cards",
    "section",
    "lead",
    "subheading",
}


@dataclass
class Topic:
    name: str
    keywords: list[str]
    pages: list[str] = field(default_factory=list)


@dataclass
class TopicsResult:
    topics: list[Topic]
    page_topic: dict[str, str]
    k: int
    silhouette: float | None
    outliers: int

    def to_json(self) -> dict[str, Any]:
        return {
            "method": {
                "embedding": "all-MiniLM-L6-v2",
                "clustering": "agglomerative, average linkage, cosine; k by silhouette",
                "naming": "the kind most pages share, else the top c-TF-IDF keyword that names no site or brand",
                "k": self.k,
                "silhouette": self.silhouette,
                "outliers": self.outliers,
            },
            "topics": [asdict(t) | {"size": len(t.pages)} for t in self.topics],
            "pages": dict(sorted(self.page_topic.items())),
        }


def naming_text(page: dict[str, Any]) -> str:
    """What names a topic: the title and description weigh three times, the headings twice, then the body."""
    head = " ".join([page.get("title", ""), page.get("description", "")])
    return " ".join([head, head, head, " ".join(page.get("headings", [])) * 2, page["text"][:MAX_TEXT_CHARS]])


def page_text(page: dict[str, Any]) -> str:
    parts = [
        page.get("title", ""),
        page.get("description", ""),
        " / ".join(page.get("headings", [])[:20]),
        page["text"],
    ]
    return re.sub(r"\s+", " ", " . ".join(p for p in parts if p)).strip()[:MAX_TEXT_CHARS]


def slug(word: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", word.lower()).strip("-")[:SLUG_MAX].strip("-")
    if not s or not s[0].isalpha():
        s = "t-" + s
    return s


def cluster(embeddings: np.ndarray) -> tuple[np.ndarray, int, float | None, np.ndarray]:
    """Ward labels at the k with the best silhouette (one cluster when none helps), and each page's silhouette."""
    import math

    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics import silhouette_samples

    n = len(embeddings)
    if n < 4:
        return np.zeros(n, dtype=int), 1, None, np.zeros(n)
    best: tuple[float, int, np.ndarray, np.ndarray] | None = None
    for k in range(2, min(MAX_TOPICS, math.isqrt(n) + 1, n - 1) + 1):
        labels = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(embeddings)
        samples = silhouette_samples(embeddings, labels, metric="cosine")
        score = float(samples.mean())
        if best is None or score > best[0] + 1e-9:
            best = (score, k, labels, samples)
    assert best is not None
    if best[0] < MIN_SILHOUETTE:
        return np.zeros(n, dtype=int), 1, best[0], np.zeros(n)
    return best[2], best[1], best[0], best[3]


def ctfidf_keywords(docs_by_cluster: list[str], top: int = 5) -> list[list[str]]:
    """Top keywords per cluster by class-based TF-IDF: tf(t, c) * log(1 + A / f(t))."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    vectorizer = CountVectorizer(
        stop_words=sorted(ENGLISH_STOP_WORDS | WEB_STOP_WORDS), token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]{2,}\b"
    )
    try:
        counts = vectorizer.fit_transform(docs_by_cluster).toarray().astype(float)
    except ValueError:  # no words at all
        return [[] for _ in docs_by_cluster]
    words = vectorizer.get_feature_names_out()
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    average = counts.sum() / len(docs_by_cluster)
    idf = np.log(1 + average / np.maximum(counts.sum(axis=0), 1))
    scores = tf * idf
    out = []
    for row in scores:
        order = sorted(range(len(words)), key=lambda i: (-row[i], words[i]))
        out.append([str(words[i]) for i in order[:top] if row[i] > 0])
    return out


def site_words(pages: list[dict[str, Any]]) -> set[str]:
    """Words that name where pages came from, not what they are: template vendors' words, the words of the
    pages' URLs that are no English word (MiniLM's vocabulary: "gentelella" and "coreui" go, "dashboard" and
    "album" stay), and proper nouns: a word never written in lowercase, or capitalised in PROPER_NOUN_SHARE of
    its uses in prose (sentences that are not title-cased)."""
    english = vocabulary()
    found = {w for p in pages for w in re.findall(r"[a-z]+", p["url"].lower()) if w not in english}
    found |= {w.lower() for p in pages for m in VENDOR.finditer(p.get("title") or "") for w in m.group(0).split()}
    uses: Counter[str] = Counter()
    capitalised: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()  # every use, headings and menus too
    lowercase: set[str] = set()
    for page in pages:
        for word in re.findall(r"[A-Za-z][a-z]*[A-Za-z]", " ".join([page.get("title") or "", page["text"]])):
            anywhere[word.lower()] += 1
            if word.islower():
                lowercase.add(word)
        for sentence in re.split(r"[.!?:\n]+", page["text"]):
            words = re.findall(r"[A-Za-z][a-z]*[A-Za-z]", sentence)[1:]  # not the sentence's first word
            if len(words) < PROSE_WORDS or sum(w[0].isupper() for w in words) > len(words) / 3:
                continue  # a heading, a menu, a title-cased line: every word is capitalised there
            for word in words:
                uses[word.lower()] += 1
                capitalised[word.lower()] += word[0].isupper()
    found |= {w for w, n in anywhere.items() if n >= 2 and w not in lowercase}  # never written in lowercase
    return found | {w for w, n in uses.items() if n >= 3 and capitalised[w] >= PROPER_NOUN_SHARE * n}


@functools.cache
def vocabulary() -> frozenset[str]:
    """The whole words of MiniLM's WordPiece vocabulary (30 522 entries, uncased): a word list that ships."""
    from tinyweb.models import minilm_path

    words = (minilm_path() / "vocab.txt").read_text(encoding="utf-8").split()
    return frozenset(w for w in words if w.isalpha())


def name_topics(members: list[list[dict[str, Any]]], keywords: list[list[str]]) -> list[str]:
    """A unique CSS-safe name per topic (see the module docstring): `members` are each topic's cleaned pages,
    `keywords` its c-TF-IDF keywords, best first."""
    names: list[str] = []
    for pages, words in zip(members, keywords, strict=True):
        kinds = Counter(w for w in (kind_word(facts(p)) for p in pages) if w)
        top = min(kinds.items(), key=lambda kv: (-kv[1], kv[0]), default=None)
        kind = top[0] if top and top[1] >= max(2, KIND_SHARE * len(pages)) else None
        brands = site_words(pages)
        subjects = [slug(w) for w in words if w.lower() not in brands and not VENDOR.fullmatch(w)]
        subjects = [w for w in subjects if w not in RESERVED]
        candidates = [kind] if kind else []
        candidates += [f"{kind}-{w}" for w in subjects if w != kind] if kind else subjects
        base = kind or "pages"
        candidates += [f"{base}-{n}" for n in ORDINALS]
        names.append(next(c for c in candidates if c not in names and c not in RESERVED))
    return names


def topics(pages: list[dict[str, Any]], embed: Any = None) -> TopicsResult:
    """The topics stage's entry point: pages (clean records) in, a topic per page out."""
    pages = sorted(pages, key=lambda p: p["id"])
    texts = [page_text(p) for p in pages]
    if embed is None:
        from tinyweb.models import embed

    embeddings = np.asarray(embed(texts), dtype=np.float64) if texts else np.zeros((0, 1))
    labels, k, score, samples = cluster(embeddings)
    sizes = np.bincount(labels, minlength=k) if len(labels) else np.zeros(0, dtype=int)
    outlier = np.array(
        [sizes[label] < MIN_TOPIC_SIZE or s < OUTLIER_SILHOUETTE for label, s in zip(labels, samples, strict=True)],
        dtype=bool,
    )
    # Clusters in a stable order: biggest first, then by their first page id.
    kept = sorted(
        {int(label) for label, out in zip(labels, outlier, strict=True) if not out},
        key=lambda c: (-int(sizes[c]), min(p["id"] for p, lab in zip(pages, labels, strict=True) if lab == c)),
    )
    naming = [naming_text(p) for p in pages]
    docs = [" ".join(t for t, lab, o in zip(naming, labels, outlier, strict=True) if lab == c and not o) for c in kept]
    keywords = ctfidf_keywords(docs, top=NAMING_KEYWORDS) if docs else []
    members = [[p for p, lab, o in zip(pages, labels, outlier, strict=True) if lab == c and not o] for c in kept]
    names = name_topics(members, keywords)
    result_topics = [Topic(name=n, keywords=keywords[i][:5]) for i, n in enumerate(names)]
    general = Topic(name=GENERAL, keywords=[])
    page_topic: dict[str, str] = {}
    for page, label, out in zip(pages, labels, outlier, strict=True):
        topic = general if out else result_topics[kept.index(int(label))]
        topic.pages.append(page["id"])
        page_topic[page["id"]] = topic.name
    if general.pages:
        general.keywords = ctfidf_keywords([" ".join(t for t, o in zip(naming, outlier, strict=True) if o)])[0]
        result_topics.append(general)
    return TopicsResult(topics=result_topics, page_topic=page_topic, k=k, silhouette=score, outliers=int(outlier.sum()))
